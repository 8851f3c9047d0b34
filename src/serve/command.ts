/**
 * `earshot serve`: runs the v3 streaming emulator until SIGINT or SIGTERM.
 * On listening it prints one line with the URL to stdout; logs go to stderr.
 * On a signal, open sessions are closed with 1001 (going away) and the process
 * exits 0 within SHUTDOWN_BOUND_MS.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { pino, type Level, type Logger } from 'pino';
import { ENGINES } from './engines/registry.js';
import { ScriptError } from './engines/script-file.js';
import { FaultSyntaxError, parseFault, type ServerFault } from './faults.js';
import { ServeConfigError } from './serve-config-error.js';
import { startStreamingServer } from './server.js';

export const DEFAULT_SERVE_PORT = 8765;
const SHUTDOWN_BOUND_MS = 5000;
const LOG_LEVELS: Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

interface ServeFlags {
  host: string;
  port: number;
  engine: string;
  script?: string;
  tlsCert?: string;
  tlsKey?: string;
  apiKey: string[];
  maxSessionSeconds?: number;
  maxSessions?: number;
  lookaheadSeconds?: number;
  fault: ServerFault[];
  logLevel: Level;
}

function number(kind: 'port' | 'positive' | 'positive-int' | 'non-negative') {
  return (text: string): number => {
    const value = Number(text);
    const ok =
      text.trim() !== '' &&
      Number.isFinite(value) &&
      (kind === 'port'
        ? Number.isInteger(value) && value >= 0 && value <= 65535
        : kind === 'positive'
          ? value > 0
          : kind === 'positive-int'
            ? Number.isInteger(value) && value > 0
            : value >= 0);
    if (!ok) {
      const wanted = {
        port: 'a port number from 0 to 65535 (0: any free port)',
        positive: 'a number above 0',
        'positive-int': 'a whole number above 0',
        'non-negative': 'a number of 0 or more',
      }[kind];
      throw new InvalidArgumentError(`expected ${wanted}.`);
    }
    return value;
  };
}

function collectFault(text: string, previous: ServerFault[]): ServerFault[] {
  try {
    return [...previous, parseFault(text)];
  } catch (error) {
    if (error instanceof FaultSyntaxError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

async function readPem(flag: string, file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new ServeConfigError(`${flag} ${file}: cannot read the file: ${reason}`);
  }
}

/** Reads and checks the certificate and key, naming the file at fault. */
async function readTls(certFile?: string, keyFile?: string): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw new ServeConfigError('--tls-cert and --tls-key go together: give both (PEM files) for wss://, or neither for ws://');
  }
  const cert = await readPem('--tls-cert', certFile);
  const key = await readPem('--tls-key', keyFile);
  try {
    createSecureContext({ cert });
  } catch (error) {
    throw new ServeConfigError(`--tls-cert ${certFile}: not a PEM certificate (${(error as Error).message})`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new ServeConfigError(
      `--tls-key ${keyFile}: not a PEM private key matching ${certFile} (${(error as Error).message})`,
    );
  }
  return { cert, key };
}

function waitForShutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function serve(flags: ServeFlags, logger: Logger): Promise<void> {
  // Listen for signals first: one that arrives while starting must not kill the process unhandled.
  const shutdownSignal = waitForShutdownSignal();
  const tls = await readTls(flags.tlsCert, flags.tlsKey);
  const loadEngine = ENGINES[flags.engine];
  if (loadEngine === undefined) {
    throw new ServeConfigError(`--engine ${flags.engine}: unknown; choose one of ${Object.keys(ENGINES).join(', ')}`);
  }
  const engine = await loadEngine({ ...(flags.script === undefined ? {} : { scriptFile: flags.script }), logger });
  const server = await startStreamingServer({
    host: flags.host,
    port: flags.port,
    ...(tls === undefined ? {} : { tls }),
    engine,
    ...(flags.apiKey.length === 0 ? {} : { apiKeys: flags.apiKey }),
    limits: {
      ...(flags.maxSessionSeconds === undefined ? {} : { maxSessionSeconds: flags.maxSessionSeconds }),
      ...(flags.maxSessions === undefined ? {} : { maxConcurrentSessions: flags.maxSessions }),
      ...(flags.lookaheadSeconds === undefined ? {} : { lookaheadSeconds: flags.lookaheadSeconds }),
    },
    faults: flags.fault,
    logger,
  });
  process.stdout.write(`earshot serve listening on ${server.url}\n`);
  const signal = await shutdownSignal;
  logger.info({ signal, sessions: server.sessions().length }, 'shutting down');
  const bound = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_BOUND_MS).unref());
  await Promise.race([server.close(), bound]);
}

export function registerServeCommand(program: Command): Command {
  return program
    .command('serve')
    .description(
      "run a local server that speaks AssemblyAI's Universal-Streaming v3 protocol at /v3/ws (ws://, or wss:// with a certificate)",
    )
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', number('port'), DEFAULT_SERVE_PORT)
    .addOption(new Option('--engine <name>', 'recognition engine').choices(Object.keys(ENGINES)).default('script'))
    .option('--script <file>', 'script for the script engine (YAML or JSON with a `turns` list)')
    .option('--tls-cert <file>', 'PEM certificate: serve wss:// (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--api-key <key>', 'accept this API key (repeatable; default: any non-empty key)', (key: string, keys: string[]) => [...keys, key], [])
    .option('--max-session-seconds <n>', 'end sessions after this long with 3008 (default 10800)', number('positive'))
    .option('--max-sessions <n>', 'refuse sessions beyond this many at once with 3009 (default: unlimited)', number('positive-int'))
    .option(
      '--lookahead-seconds <n>',
      'close with 3007 when audio runs this far ahead of real time (default 300)',
      number('non-negative'),
    )
    .option('--fault <spec>', 'inject a fault (repeatable), e.g. drop:2000, close:1500:3005:boom, ignore-terminate@1', collectFault, [])
    .addOption(new Option('--log-level <level>', 'log level (logs go to stderr)').choices(LOG_LEVELS).default('info'))
    .action(async (flags: ServeFlags, command: Command) => {
      const logger = pino(
        { level: flags.logLevel, base: { service: 'earshot-serve' } },
        pino.destination({ dest: 2, sync: true }),
      );
      try {
        await serve(flags, logger);
      } catch (error) {
        if (error instanceof ServeConfigError || error instanceof ScriptError || error instanceof RangeError) {
          command.error(`earshot serve: ${error.message}`, { exitCode: 2, code: 'earshot.serve.config' });
        }
        command.error(`earshot serve: ${(error as Error).message}`, { exitCode: 1, code: 'earshot.serve.failed' });
      }
      process.exit(0);
    });
}
