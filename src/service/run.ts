/**
 * `earshot run <file>`: loads the file, sets up the logger, runs the
 * Service, and turns signals into its lifecycle: SIGINT/SIGTERM stop
 * gracefully, a second one stops at once, SIGHUP reloads the file.
 * Resolves with the exit code (exit-codes.ts).
 */
import { ConfigError, loadPipelineFile, type LoadedConfig } from '../config/load.js';
import { ExitCode } from './exit-codes.js';
import { createLogger, logDiagnostic, SecretScrubber } from './logger.js';
import { secretsOf } from './secret-sources.js';
import { Service } from './service.js';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Where the signals come from (the process, or a test). */
  signals?: NodeJS.EventEmitter;
  stderr?: NodeJS.WritableStream;
}

/** Runs the file's pipelines until stopped; resolves with the exit code. */
export async function runService(file: string, options: RunOptions = {}): Promise<number> {
  const stderr = options.stderr ?? process.stderr;
  const env = options.env ?? process.env;
  let loaded: LoadedConfig;
  try {
    loaded = await loadPipelineFile(file, { env });
  } catch (error) {
    if (error instanceof ConfigError) {
      stderr.write(error.message + '\n');
      return ExitCode.configInvalid;
    }
    throw error;
  }
  const secrets = new SecretScrubber(await secretsOf(loaded, env));
  // The logger asks the service for sessions; the service needs the logger.
  const current: { service?: Service } = {};
  const logger = createLogger({
    level: loaded.config.service.log.level,
    format: loaded.config.service.log.format,
    secrets,
    sessionOf: (pipeline) => current.service?.sessionOf(pipeline),
  });
  for (const warning of loaded.warnings) logDiagnostic(logger, warning);
  const running = new Service({ file, loaded, logger, secrets, env });
  current.service = running;

  const signals = options.signals ?? process;
  let stopSignals = 0;
  const onStopSignal = (signal: string): void => {
    stopSignals++;
    if (stopSignals === 1) {
      logger.info({ signal }, `${signal}: stopping gracefully (send it again to stop at once)`);
      void running.stop();
    } else if (stopSignals === 2) {
      logger.warn({ signal }, `${signal} again: stopping now`);
      running.abort();
    }
  };
  const onReloadSignal = (): void => {
    logger.info({ signal: 'SIGHUP', file }, `SIGHUP: reloading ${file}`);
    void running.reload();
  };
  signals.on('SIGINT', onStopSignal);
  signals.on('SIGTERM', onStopSignal);
  signals.on('SIGHUP', onReloadSignal);
  try {
    return await running.run();
  } finally {
    signals.off('SIGINT', onStopSignal);
    signals.off('SIGTERM', onStopSignal);
    signals.off('SIGHUP', onReloadSignal);
    logger.flush();
  }
}
