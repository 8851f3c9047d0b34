/**
 * When to try a request again, and how long to wait: exponential backoff with
 * full jitter (a uniform wait between 0 and the doubled ceiling), or the
 * server's Retry-After on 429 and 503.
 */

export type Verdict =
  | { kind: 'delivered' }
  | { kind: 'retry'; reason: string; status?: number; retryAfterMs?: number }
  | { kind: 'rejected'; reason: string; status: number };

/** 2xx delivered; 408, 429 and 5xx retried; redirects and other 4xx rejected for good. */
export function judgeStatus(status: number, retryAfter: string | null, nowMs: number): Verdict {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(retryAfter, nowMs) : undefined;
    return { kind: 'retry', reason: `HTTP ${status}`, status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  if (status >= 300 && status < 400) return { kind: 'rejected', reason: `HTTP ${status}: redirects are not followed; set url to the final address`, status };
  return { kind: 'rejected', reason: `HTTP ${status}`, status };
}

/** Retry-After as delay-seconds or an HTTP date, in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Full jitter: uniform in [0, min(max, initial * 2^(attempt-1))]. `attempt` counts from 1. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(random() * ceiling);
}
