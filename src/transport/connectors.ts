/** How a pipeline's transport opens transcriber sessions, per transcriber type. */
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import type { AssemblyAITranscriberConfig, LocalTranscriberConfig } from '../config/schema.js';
import { createLocalEngine } from '../serve/engines/local.js';
import { startStreamingServer } from '../serve/server.js';
import type { SessionConnector } from './stream.js';
import { TranscriberConnectError, TranscriberError } from './errors.js';
import { V3Session } from './v3-session.js';

export function assemblyAIConnector(config: AssemblyAITranscriberConfig, sampleRate: number, logger: Logger): SessionConnector {
  // The source decides the audio format: the session must be opened with what is actually sent.
  const params = { ...config.params, sample_rate: sampleRate, encoding: 'pcm_s16le' } as Record<string, string | number | boolean>;
  let sessionsOpened = 0;
  return async (listeners, signal) => {
    try {
      const session = await V3Session.open(
        {
          url: config.url,
          ...(config.api_key !== undefined ? { apiKey: config.api_key } : {}),
          ...(config.token !== undefined ? { token: config.token } : {}),
          params,
          connectTimeoutMs: config.connect_timeout_ms,
          logger,
        },
        listeners,
        signal,
      );
      sessionsOpened++;
      return session;
    } catch (error) {
      // A temporary token opens one session: the second is refused, and retrying with it cannot help.
      if (error instanceof TranscriberError && error.code === 1008 && config.token !== undefined && config.api_key === undefined && sessionsOpened > 0) {
        throw new TranscriberConnectError(
          `${error.message}. A temporary token opens one session only, so after a reconnect it is refused: give api_key to let earshot reconnect`,
          true,
          error.details,
          { cause: error },
        );
      }
      throw error;
    }
  };
}

/**
 * The local transcriber: `earshot serve --engine local` started inside this
 * transport worker on a loopback port, and reached through the same v3 client
 * as the cloud. One code path for both: the same events, and a crashed or hung
 * engine (the server ends the session with 3005) is handled exactly like a
 * dropped connection: reconnect, replay, no audio lost.
 */
export async function localConnector(
  config: LocalTranscriberConfig,
  sampleRate: number,
  logger: Logger,
): Promise<{ connect: SessionConnector; close: () => Promise<void> }> {
  const apiKey = randomUUID();
  const server = await startStreamingServer({
    engine: createLocalEngine({ modelDir: config.model_dir, logger }),
    apiKeys: [apiKey],
    logger: logger.child({ component: 'local-engine' }),
  });
  const connect = assemblyAIConnector(
    {
      type: 'assemblyai',
      api_key: apiKey,
      url: server.url,
      params: { format_turns: true },
      reconnect: config.restart,
      buffer_seconds: config.buffer_seconds,
      connect_timeout_ms: 30000,
      termination_timeout_ms: LOCAL_TERMINATION_TIMEOUT_MS,
    },
    sampleRate,
    logger,
  );
  return { connect, close: () => server.close() };
}

/** pocketsphinx may still be decoding the last seconds when Terminate arrives. */
export const LOCAL_TERMINATION_TIMEOUT_MS = 10000;
