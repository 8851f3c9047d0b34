/**
 * Finds, imports and checks a plugin, and creates its sink, in the calling
 * thread: the main thread for `isolation: main`, the plugin's own thread
 * otherwise (plugin-host.ts). A plugin's module is found from the pipeline
 * file's directory; its default export (or named export `sink`) is a
 * SinkPlugin or a bare factory function. Options are checked against the
 * plugin's optionsSchema before create() is called. Anything that goes wrong
 * is a PluginLoadError naming the pipeline, the sink, the module and what
 * would be right.
 */
import type { PluginSinkConfig } from '../config/schema.js';
import { BOUNDED_METHODS, FORWARDED_METHODS } from './plugin-bridge.js';
import { describeError, describeSite, PLUGIN_TIMEOUTS_MS, PluginLoadError, PluginTimeoutError, withTimeout, type PluginSite, type PluginTimeouts } from './plugin-errors.js';
import { checkPluginOptions, compileOptionsSchema, describeValue, InvalidOptionsSchemaError, secretOptionValues } from './plugin-options.js';
import { resolvePluginModule } from './plugin-resolve.js';
import type { Sink, SinkContext, SinkFactory, SinkPlugin } from './sink.js';
import { locateSyntaxError } from './syntax-location.js';

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

/** The values of the options the plugin's schema marks secret. */
export function secretsOf(loaded: LoadedPlugin): string[] {
  return loaded.plugin.optionsSchema === undefined ? [] : secretOptionValues(loaded.plugin.optionsSchema, loaded.options);
}

/** Calls the loaded plugin's create() (bounded), checks what it returns, and bounds its lifecycle calls. */
export async function createLoadedSink(loaded: LoadedPlugin, site: PluginSite, context: SinkContext, timeouts: PluginTimeouts): Promise<Sink> {
  const { plugin, options } = loaded;
  let created: unknown;
  try {
    created = await withTimeout(Promise.resolve().then(() => plugin.create(options, context)), timeouts.create, 'create()');
  } catch (error) {
    const what = error instanceof PluginTimeoutError ? error.message : `create() threw ${describeError(error)}`;
    throw new PluginLoadError('create_failed', site, `failed to create its sink: ${what}`, [], { cause: error });
  }
  return bounded(checkedSink(created, site), site, timeouts);
}

/**
 * Loads the plugin a `type: plugin` entry names and creates its sink in this
 * thread. `onSecrets` hears the values of options the plugin's schema marks
 * secret before create() runs, so a logger can scrub them from anything the plugin logs.
 */
export async function createPluginSinkHere(
  config: Pick<PluginSinkConfig, 'module' | 'options'>,
  context: SinkContext,
  timeouts = PLUGIN_TIMEOUTS_MS,
  onSecrets?: (values: readonly string[]) => void,
): Promise<Sink> {
  const site: PluginSite = { module: config.module, pipeline: context.pipeline, sink: context.name };
  const loaded = await loadSinkPlugin(config, site, context.baseDir, timeouts);
  onSecrets?.(secretsOf(loaded));
  return createLoadedSink(loaded, site, context, timeouts);
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
  for (const method of FORWARDED_METHODS) {
    if (value[method] !== undefined && typeof value[method] !== 'function') {
      throw new PluginLoadError('bad_sink', site, `failed to create its sink: create() returned a sink whose ${method} is ${describeValue(value[method])}; ${EXPECTED_SINK}`);
    }
  }
  return value as unknown as Sink;
}

/** The plugin's sink, with its lifecycle calls bounded in time (write is the SinkActor's business). */
function bounded(sink: Sink, site: PluginSite, timeouts: PluginTimeouts): Sink {
  const calls: Partial<Record<keyof Sink, (...args: never[]) => unknown>> = {};
  for (const method of FORWARDED_METHODS) {
    if (typeof sink[method] !== 'function') continue;
    const call = (...args: unknown[]): unknown => (sink[method] as (...args: unknown[]) => unknown).apply(sink, args);
    const timeout = BOUNDED_METHODS[method];
    calls[method] = timeout === undefined
      ? call
      : (...args: unknown[]) => withTimeout(call(...args), timeouts[timeout], `${describeSite(site)}: ${method}()`);
  }
  return calls as Sink;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isClass(fn: unknown): fn is abstract new (...args: never[]) => unknown {
  return typeof fn === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(fn));
}
