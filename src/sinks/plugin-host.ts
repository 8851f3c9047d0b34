/**
 * A plugin sink's own thread: loads the plugin exactly as the main thread
 * would (same resolution, option checks, PluginLoadErrors, time bounds) and
 * runs each Sink call the main thread forwards. A plugin that blocks here
 * blocks this thread's event loop only.
 *
 * Runs as one long-lived piscina task; its logger writes pino lines to the
 * main thread, which logs them with the pipeline and sink fields.
 */
import pino from 'pino';
import { FORWARDED_METHODS, serializeError, type FromPluginHost, type PluginHostTask, type ToPluginHost } from './plugin-bridge.js';
import type { PluginSite } from './plugin-errors.js';
import { createLoadedSink, loadSinkPlugin, secretsOf } from './plugin-load.js';
import type { Sink } from './sink.js';

export default async function hostPluginSink(task: PluginHostTask): Promise<void> {
  const { port } = task;
  const send = (message: FromPluginHost): void => port.postMessage(message);
  const logger = pino({ level: task.logLevel, base: undefined }, { write: (line: string) => send({ type: 'log', line }) });
  const context = { ...task.context, logger };
  const site: PluginSite = { module: task.module, pipeline: context.pipeline, sink: context.name };
  let sink: Sink | undefined;
  try {
    const loaded = await loadSinkPlugin(task, site, context.baseDir, task.timeouts);
    send({ type: 'loaded', secrets: secretsOf(loaded) });
    sink = await createLoadedSink(loaded, site, context, task.timeouts);
    send({ type: 'ready', methods: FORWARDED_METHODS.filter((method) => typeof sink?.[method] === 'function') });
  } catch (error) {
    // The task stays until the main thread closes the port, so this message is read before the task ends.
    send({ type: 'load_failed', error: serializeError(error) });
  }
  await new Promise<void>((closed) => {
    port.on('close', closed);
    port.on('message', (message: ToPluginHost) => {
      if (message.type === 'close' || !sink) {
        port.close();
        return;
      }
      const { id, method, args } = message;
      const target = sink;
      void Promise.resolve()
        .then(() => (target[method] as (...args: unknown[]) => unknown).apply(target, args))
        .then(
          () => send({ type: 'reply', id }),
          (error: unknown) => send({ type: 'reply', id, error: serializeError(error) }),
        );
    });
  });
}
