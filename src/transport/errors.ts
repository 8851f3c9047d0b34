/**
 * Typed errors of the transcriber connection. Each carries the close code and
 * reason when there is one, the URL without credentials, and whether retrying
 * can help: a bad key or bad parameters stop the pipeline with a clear
 * message; a dropped connection or a server hiccup reconnects.
 */
import { CLOSE_CODES } from './protocol.js';

export class TranscriberError extends Error {
  override readonly name: string = 'TranscriberError';
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly details: { url?: string; code?: number; reason?: string; status?: number } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  get code(): number | undefined {
    return this.details.code;
  }
}

/** The session could not be opened (network, TLS, HTTP refusal, no Begin in time). */
export class TranscriberConnectError extends TranscriberError {
  override readonly name = 'TranscriberConnectError';
}

/** An open session ended with an error code or without a close frame. */
export class TranscriberSessionError extends TranscriberError {
  override readonly name = 'TranscriberSessionError';
}

/** Classifies a close code and reason: permanent (do not retry) or transient. */
export function classifyClose(code: number, reason: string): { permanent: boolean; meaning: string } {
  if (code === 1008) {
    // 1008 carries both auth failures (permanent) and the concurrency limit (transient).
    const transient = /too many|concurren|rate/i.test(reason);
    return {
      permanent: !transient,
      meaning: transient ? 'too many concurrent sessions' : 'unauthorized (missing or invalid API key, or an account problem)',
    };
  }
  const known = CLOSE_CODES[code];
  if (known) return known;
  // Unknown 4xxx codes are application errors we cannot fix by retrying; others may be transient.
  return { permanent: code >= 4000 && code < 5000, meaning: `close code ${code}` };
}

/** The URL without credentials (a `token` query parameter), for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.searchParams.has('token')) parsed.searchParams.set('token', '[redacted]');
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}
