/**
 * `type: plugin` sinks: a module of the user's, loaded and checked as
 * plugin-load.ts says, run in a thread of its own (isolated-plugin-sink.ts)
 * unless the pipeline file asks for `isolation: main`. Either way the same
 * PluginLoadErrors, the same time bounds, the same Sink contract.
 */
import type { PluginSinkConfig } from '../config/schema.js';
import { createIsolatedPluginSink } from './isolated-plugin-sink.js';
import { PLUGIN_TIMEOUTS_MS } from './plugin-errors.js';
import { createPluginSinkHere } from './plugin-load.js';
import type { Sink, SinkContext } from './sink.js';

export { PLUGIN_TIMEOUTS_MS, PluginLoadError, PluginTimeoutError, type PluginProblem, type PluginSite, type PluginTimeouts } from './plugin-errors.js';
export { loadSinkPlugin, type LoadedPlugin } from './plugin-load.js';
export { PluginThreadError } from './plugin-thread.js';
export { releaseSink } from './isolated-plugin-sink.js';

/**
 * Loads the plugin a `type: plugin` entry names and creates its sink.
 * `onSecrets` hears the values of options the plugin's schema marks secret
 * before create() runs, so a logger can scrub them from anything the plugin logs.
 */
export function createPluginSink(
  config: PluginSinkConfig,
  context: SinkContext,
  timeouts = PLUGIN_TIMEOUTS_MS,
  onSecrets?: (values: readonly string[]) => void,
): Promise<Sink> {
  return config.isolation === 'main'
    ? createPluginSinkHere(config, context, timeouts, onSecrets)
    : createIsolatedPluginSink(config, context, timeouts, onSecrets);
}
