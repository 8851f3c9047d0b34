/** How a pipeline's transport opens transcriber sessions, per transcriber type. */
import type { Logger } from 'pino';
import type { AssemblyAITranscriberConfig } from '../config/schema.js';
import type { SessionConnector } from './stream.js';
import { V3Session } from './v3-session.js';

export function assemblyAIConnector(config: AssemblyAITranscriberConfig, sampleRate: number, logger: Logger): SessionConnector {
  // The source decides the audio format: the session must be opened with what is actually sent.
  const params = { ...config.params, sample_rate: sampleRate, encoding: 'pcm_s16le' } as Record<string, string | number | boolean>;
  return (listeners, signal) =>
    V3Session.open(
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
}
