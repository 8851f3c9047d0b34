/**
 * What the main thread and a plugin's own thread say to each other over
 * their MessagePort: one `call` per Sink method call and one `reply` back,
 * the plugin's log lines, and how it loaded. Errors cross as plain data and
 * are rebuilt as the same types on the other side, so the sink actor's retry
 * rules (RetryableSinkError, retryAfterMs) hold across the thread.
 */
import type { MessagePort } from 'node:worker_threads';
import { PluginLoadError, PluginTimeoutError, type PluginProblem, type PluginSite, type PluginTimeouts } from './plugin-errors.js';
import { RetryableSinkError, type Sink, type SinkContext } from './sink.js';

/**
 * The Sink methods forwarded to a plugin's thread, optional ones only when
 * the plugin's sink has them. Forwarding another method is one entry here.
 */
export const FORWARDED_METHODS = ['write', 'revise', 'start', 'flush', 'stop'] as const satisfies readonly (keyof Sink)[];
export type ForwardedMethod = (typeof FORWARDED_METHODS)[number];

/** Methods bounded in time, by which of the plugin's timeouts (write is the sink actor's business). */
export const BOUNDED_METHODS: Partial<Record<ForwardedMethod, keyof PluginTimeouts>> = { start: 'start', flush: 'flush', stop: 'stop' };

/** What the plugin's thread is given to load it as the main thread would. */
export interface PluginHostTask {
  port: MessagePort;
  module: string;
  options: Record<string, unknown>;
  context: Omit<SinkContext, 'logger'>;
  logLevel: string;
  timeouts: PluginTimeouts;
}

export type ToPluginHost =
  | { type: 'call'; id: number; method: ForwardedMethod; args: unknown[] }
  /** Ends the task: the plugin's thread goes back to its pool, which is then closed. */
  | { type: 'close' };

export type FromPluginHost =
  /** Found, imported, options checked: the values of its secret options, before create() runs. */
  | { type: 'loaded'; secrets: string[] }
  /** Created: the methods its sink has. */
  | { type: 'ready'; methods: ForwardedMethod[] }
  | { type: 'load_failed'; error: SerializedError }
  | { type: 'reply'; id: number; error?: SerializedError }
  /** A pino line from context.logger. */
  | { type: 'log'; line: string };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  retryAfterMs?: number;
  load?: { problem: PluginProblem; site: PluginSite; detail: string; problems: readonly string[] };
}

export function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: `threw a non-error: ${String(error)}` };
  const serialized: SerializedError = { name: error.name, message: error.message, ...(error.stack !== undefined ? { stack: error.stack } : {}) };
  const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
  if (typeof retryAfterMs === 'number') serialized.retryAfterMs = retryAfterMs;
  if (error instanceof PluginLoadError) {
    serialized.load = { problem: error.problem, site: { ...error.site }, detail: error.detail, problems: [...error.problems] };
  }
  return serialized;
}

/** The error as the main thread's own type where there is one; otherwise an Error keeping name, message and stack. */
export function deserializeError(serialized: SerializedError): Error {
  let error: Error;
  if (serialized.load) {
    const { problem, site, detail, problems } = serialized.load;
    error = new PluginLoadError(problem, site, detail, problems);
  } else if (serialized.name === 'RetryableSinkError') {
    error = new RetryableSinkError(serialized.message, serialized.retryAfterMs);
  } else if (serialized.name === 'PluginTimeoutError') {
    error = new PluginTimeoutError(serialized.message);
  } else {
    error = new Error(serialized.message);
    error.name = serialized.name;
  }
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  return error;
}
