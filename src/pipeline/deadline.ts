/**
 * An AbortSignal that aborts after `ms`, driven by a timer this module holds.
 * On Node 20, an AbortSignal.timeout() whose only holder is an
 * AbortSignal.any() can be garbage-collected before it fires, and the wait
 * it was meant to bound goes on forever (a long-running service collects
 * garbage all the time). Call clear() once the bounded work is done.
 */
export interface Deadline {
  readonly signal: AbortSignal;
  clear(): void;
}

export function deadline(ms: number, reason = `timed out after ${ms} ms`): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(reason, 'TimeoutError')), ms);
  return {
    signal: controller.signal,
    clear: () => clearTimeout(timer),
  };
}
