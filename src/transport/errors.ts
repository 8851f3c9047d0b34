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

/**
 * Classifies a close code and reason: permanent (do not retry) or transient.
 * Two codes depend on their reason: 1008 carries both auth failures
 * (permanent) and the concurrency limit (transient); 3007 carries both a chunk
 * outside 50..1000 ms (a client bug: retrying sends the same) and audio sent
 * faster than real time (slow down, then retry).
 */
export function classifyClose(code: number, reason: string): { permanent: boolean; meaning: string } {
  if (code === 1008) {
    const transient = /too many|concurren|rate limit/i.test(reason);
    return {
      permanent: !transient,
      meaning: transient ? 'too many concurrent sessions' : 'unauthorized (missing or invalid API key or token, or an account problem)',
    };
  }
  if (code === 3007 && /duration violation|expected between/i.test(reason)) {
    return { permanent: true, meaning: 'audio chunk outside 50..1000 ms (a client bug)' };
  }
  if (code === 3007 && /rate exceeded|faster than/i.test(reason)) {
    return { permanent: false, meaning: 'audio sent faster than real time' };
  }
  const known = CLOSE_CODES[code];
  if (known) return known;
  // Unknown 4xxx codes are application errors we cannot fix by retrying; others may be transient.
  return { permanent: code >= 4000 && code < 5000, meaning: `close code ${code}` };
}

/** What a close said, for people: the code, the service's reason (or our meaning of the code), and what happens next. */
export function describeClose(code: number, reason: string): { permanent: boolean; text: string } {
  const { permanent, meaning } = classifyClose(code, reason);
  const known = CLOSE_CODES[code] !== undefined || code === 1008;
  const said = reason.trim() === '' ? meaning : !known || reason.toLowerCase() === meaning.toLowerCase() ? `"${reason}"` : `"${reason}" (${meaning})`;
  return { permanent, text: `close code ${code} ${said}; ${permanent ? 'not retrying: this needs a fix' : 'reconnecting'}` };
}

/**
 * "Audio Transmission Rate Exceeded: Received 12.5 sec. audio in 2.1 sec":
 * how far ahead of real time the audio had got when the service refused it.
 */
export function rateExcessMs(reason: string): number | undefined {
  const match = /received\s+([\d.]+)\s*sec\.?\s*(?:of\s+)?audio\s+in\s+([\d.]+)\s*sec/i.exec(reason);
  if (!match) return undefined;
  const excess = (Number(match[1]) - Number(match[2])) * 1000;
  return Number.isFinite(excess) && excess >= 0 ? excess : undefined;
}

/** The endpoint alone (no query: parameters and credentials stay out), for messages people read. */
export function endpointOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return redactUrl(url);
  }
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
