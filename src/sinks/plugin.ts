/**
 * `type: plugin` sinks: a module of the user's, found from the pipeline
 * file's directory, whose default export (or named export `sink`) is a
 * SinkPlugin or a bare factory function. Options are checked against the
 * plugin's optionsSchema before create() is called. Anything that goes wrong
 * is a PluginLoadError naming the pipeline, the sink, the module and what
 * would be right.
 *
 * A plugin's start(), flush() and stop() are bounded in time, so a plugin
 * that never answers cannot hold up the pipeline's start or shutdown.
 */
import type { PluginSinkConfig } from '../config/schema.js';
import { checkPluginOptions, compileOptionsSchema, describeValue, InvalidOptionsSchemaError, secretOptionValues } from './plugin-options.js';
import { resolvePluginModule } from './plugin-resolve.js';
import type { Sink, SinkContext, SinkFactory, SinkPlugin } from './sink.js';
import { locateSyntaxError } from './syntax-location.js';

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
    detail: string,
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

const EXPECTED_EXPORT =
  'Expected: a SinkPlugin object { create(options, context), optionsSchema? } or a factory function (options, context) => Sink, ' +
  'as the default export or as the named export "sink".';
const EXPECTED_SINK = 'expected a Sink: an object with a write(event) method (and optional revise, start, flush, stop methods)';

export interface LoadedPlugin {
  readonly plugin: SinkPlugin;
  /** The options, checked and with the schema's defaults filled in. */
  readonly options: Record<string, unknown>;
  /** Where the module was found. */
  readonly path: string;
}

/** Finds, imports and checks a plugin and its options, without creating a sink. */
export async function loadSinkPlugin(
  config: Pick<PluginSinkConfig, 'module' | 'options'>,
  site: PluginSite,
  baseDir: string,
  timeouts: Pick<PluginTimeouts, 'import'> = PLUGIN_TIMEOUTS_MS,
): Promise<LoadedPlugin> {
  const resolution = resolvePluginModule(config.module, baseDir);
  if (!resolution.found) throw new PluginLoadError('not_found', site, resolution.reason);

  let namespace: Record<string, unknown>;
  try {
    namespace = (await withTimeout(import(resolution.url), timeouts.import, 'import')) as Record<string, unknown>;
  } catch (error) {
    const location = error instanceof SyntaxError ? await locateSyntaxError(resolution.path) : undefined;
    const where = location ? ` at ${location}` : error instanceof SyntaxError ? ` (in ${resolution.path} or a module it imports)` : '';
    throw new PluginLoadError('import_failed', site, `failed to load (${resolution.path}): ${describeError(error)}${where}`, [], { cause: error });
  }

  const plugin = pluginFrom(namespace, site, resolution.path);
  if (plugin.optionsSchema === undefined) return { plugin, options: structuredClone(config.options), path: resolution.path };
  let validate;
  try {
    validate = compileOptionsSchema(plugin.optionsSchema);
  } catch (error) {
    if (!(error instanceof InvalidOptionsSchemaError)) throw error;
    throw new PluginLoadError('bad_schema', site, `is broken: its ${error.message}`, [], { cause: error });
  }
  const check = checkPluginOptions(validate, config.options);
  if (!check.ok) throw new PluginLoadError('invalid_options', site, `has invalid options:`, check.problems);
  return { plugin, options: check.options, path: resolution.path };
}

/**
 * Loads the plugin a `type: plugin` entry names and creates its sink.
 * `onSecrets` hears the values of options the plugin's schema marks secret
 * before create() runs, so a logger can scrub them from anything the plugin logs.
 */
export async function createPluginSink(
  config: PluginSinkConfig,
  context: SinkContext,
  timeouts = PLUGIN_TIMEOUTS_MS,
  onSecrets?: (values: readonly string[]) => void,
): Promise<Sink> {
  const site: PluginSite = { module: config.module, pipeline: context.pipeline, sink: context.name };
  const { plugin, options } = await loadSinkPlugin(config, site, context.baseDir, timeouts);
  if (plugin.optionsSchema !== undefined) onSecrets?.(secretOptionValues(plugin.optionsSchema, options));
  let created: unknown;
  try {
    created = await withTimeout(Promise.resolve().then(() => plugin.create(options, context)), timeouts.create, 'create()');
  } catch (error) {
    const what = error instanceof PluginTimeoutError ? error.message : `create() threw ${describeError(error)}`;
    throw new PluginLoadError('create_failed', site, `failed to create its sink: ${what}`, [], { cause: error });
  }
  return bounded(checkedSink(created, site), site, timeouts);
}

function pluginFrom(namespace: Record<string, unknown>, site: PluginSite, path: string): SinkPlugin {
  for (const candidate of [namespace.default, namespace.sink]) {
    if (typeof candidate === 'function' && !isClass(candidate)) return { create: candidate as SinkFactory };
    if (isObject(candidate) && typeof candidate.create === 'function') {
      const schema = candidate.optionsSchema;
      if (schema !== undefined && !isObject(schema)) {
        throw new PluginLoadError('bad_schema', site, `is broken: its optionsSchema is ${describeValue(schema)}; expected a JSON Schema object`);
      }
      return candidate as unknown as SinkPlugin;
    }
  }
  throw new PluginLoadError('bad_export', site, `(${path}) does not export a sink plugin: it exports ${describeExports(namespace)}. ${EXPECTED_EXPORT}${exportHint(namespace)}`);
}

function describeExports(namespace: Record<string, unknown>): string {
  const names = Object.keys(namespace);
  if (names.length === 0) return 'nothing';
  return names.map((name) => `${name} (${describeExport(namespace[name])})`).join(', ');
}

function describeExport(value: unknown): string {
  if (typeof value === 'function' && isClass(value)) return `class ${value.name || '(anonymous)'}`;
  if (isObject(value) && 'create' in value) return `an object whose create is ${describeValue(value.create)}`;
  return describeValue(value);
}

/** The two shapes people reach for first, and how to turn them into a plugin. */
function exportHint(namespace: Record<string, unknown>): string {
  const main = namespace.default ?? namespace.sink;
  if (typeof main === 'function' && isClass(main)) {
    return ` A class is not called with new; export { create: (options, context) => new ${main.name || 'YourSink'}(options, context) }.`;
  }
  if (isObject(main) && typeof main.write === 'function') {
    return ' It looks like a Sink itself; export { create: () => sink } instead.';
  }
  return '';
}

function checkedSink(value: unknown, site: PluginSite): Sink {
  if (!isObject(value) || typeof value.write !== 'function') {
    throw new PluginLoadError('bad_sink', site, `failed to create its sink: create() returned ${describeValue(value)}; ${EXPECTED_SINK}`);
  }
  for (const method of ['revise', 'start', 'flush', 'stop']) {
    if (value[method] !== undefined && typeof value[method] !== 'function') {
      throw new PluginLoadError('bad_sink', site, `failed to create its sink: create() returned a sink whose ${method} is ${describeValue(value[method])}; ${EXPECTED_SINK}`);
    }
  }
  return value as unknown as Sink;
}

/** The plugin's sink, with its lifecycle calls bounded in time (write is the SinkActor's business). */
function bounded(sink: Sink, site: PluginSite, timeouts: PluginTimeouts): Sink {
  const what = `pipeline ${site.pipeline}: sink ${site.sink}: plugin ${JSON.stringify(site.module)}`;
  return {
    write: (event) => sink.write(event),
    ...(sink.revise ? { revise: (event) => sink.revise!(event) } : {}),
    ...(sink.start ? { start: () => withTimeout(sink.start!(), timeouts.start, `${what}: start()`) } : {}),
    ...(sink.flush ? { flush: () => withTimeout(sink.flush!(), timeouts.flush, `${what}: flush()`) } : {}),
    ...(sink.stop ? { stop: () => withTimeout(sink.stop!(), timeouts.stop, `${what}: stop()`) } : {}),
  };
}

function withTimeout<T>(promise: Promise<T> | T, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new PluginTimeoutError(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([Promise.resolve(promise), timeout]).finally(() => clearTimeout(timer));
}

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return describeValue(error);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isClass(fn: unknown): fn is abstract new (...args: never[]) => unknown {
  return typeof fn === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(fn));
}
