/**
 * What can go wrong with a plugin, as typed errors, and the time bounds on
 * its lifecycle calls. Shared by the plugin's own thread and the main thread.
 */
import { describeValue } from './plugin-options.js';

export type PluginProblem =
  | 'not_found'
  | 'import_failed'
  | 'bad_export'
  | 'bad_schema'
  | 'invalid_options'
  | 'create_failed'
  | 'bad_sink';

/** Which plugin, where: every PluginLoadError names all three. */
export interface PluginSite {
  readonly module: string;
  readonly pipeline: string;
  readonly sink: string;
}

export class PluginLoadError extends Error {
  override readonly name = 'PluginLoadError';
  constructor(
    readonly problem: PluginProblem,
    readonly site: PluginSite,
    /** What went wrong, without the site (the message starts with the site). */
    readonly detail: string,
    /** One line per problem (invalid options), each starting with the option's path. */
    readonly problems: readonly string[] = [],
    options?: ErrorOptions,
  ) {
    super(`pipeline ${site.pipeline}: sink ${site.sink}: plugin ${JSON.stringify(site.module)} ${detail}${problems.map((p) => `\n  ${p}`).join('')}`, options);
  }
}

/** A plugin lifecycle call that did not settle in time. */
export class PluginTimeoutError extends Error {
  override readonly name = 'PluginTimeoutError';
}

export interface PluginTimeouts {
  /** Importing the module (a top-level await that never settles). */
  readonly import: number;
  readonly create: number;
  readonly start: number;
  readonly flush: number;
  readonly stop: number;
}

export const PLUGIN_TIMEOUTS_MS: PluginTimeouts = { import: 30_000, create: 30_000, start: 30_000, flush: 10_000, stop: 10_000 };

export function withTimeout<T>(promise: Promise<T> | T, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new PluginTimeoutError(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return describeValue(error);
}

/** How errors and logs name a plugin: `pipeline meeting: sink notes: plugin "./notes.js"`. */
export function describeSite(site: PluginSite): string {
  return `pipeline ${site.pipeline}: sink ${site.sink}: plugin ${JSON.stringify(site.module)}`;
}
