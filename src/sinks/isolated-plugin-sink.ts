/**
 * A plugin sink run in a thread of its own (`isolation: thread`, the
 * default): on the main thread, a Sink that forwards each call to the
 * plugin's thread and resolves or throws as the plugin did there. It has the
 * plugin's optional methods only when the plugin's sink has them (stop()
 * always: it also ends the thread). start, flush and stop are bounded here,
 * on the main thread, so a plugin whose thread is blocked cannot hold a start
 * or a shutdown: past the stop bound its thread is terminated.
 *
 * A thread that dies is restarted with backoff (and the plugin started again
 * if it had been); the calls in flight fail with a PluginThreadError, which
 * the sink actor counts and retries like any other error.
 */
import type { PluginSinkConfig } from '../config/schema.js';
import { Supervisor } from '../pipeline/supervisor.js';
import { BOUNDED_METHODS, FORWARDED_METHODS, type ForwardedMethod } from './plugin-bridge.js';
import { describeSite, PluginTimeoutError, withTimeout, type PluginTimeouts } from './plugin-errors.js';
import { CLOSE_GRACE_MS, PluginThread } from './plugin-thread.js';
import type { Sink, SinkContext } from './sink.js';

/** Restarts of a plugin's thread: more than this many within the window and it is given up. */
const RESTARTS = { maxRestarts: 5, windowMs: 60_000, backoff: { initialDelayMs: 200, maxDelayMs: 5000 } };

/** How to end the thread of a sink that was created but will never be stopped (its pipeline failed to start). */
const releasers = new WeakMap<Sink, () => Promise<void>>();

export async function createIsolatedPluginSink(
  config: Pick<PluginSinkConfig, 'module' | 'options'>,
  context: SinkContext,
  timeouts: PluginTimeouts,
  onSecrets?: (values: readonly string[]) => void,
): Promise<Sink> {
  let started = false;
  const thread = new PluginThread({
    config,
    context,
    timeouts,
    onSecrets,
    onLoaded: async (restarted) => {
      if (started && restarted.methods.has('start')) await bounded('start', restarted.send('start', []));
    },
  });
  const bounded = (method: ForwardedMethod, call: Promise<void>): Promise<void> => {
    const timeout = BOUNDED_METHODS[method];
    return timeout === undefined ? call : withTimeout(call, timeouts[timeout], `${describeSite(thread.site)}: ${method}()`);
  };

  await thread.start();
  const supervisor = new Supervisor({ ...RESTARTS, logger: context.logger, onGiveUp: (_thread, error) => thread.giveUp(error) });
  await supervisor.supervise(thread);

  const forwarded: Partial<Record<ForwardedMethod, (...args: unknown[]) => Promise<void>>> = {};
  for (const method of FORWARDED_METHODS) {
    if (thread.methods.has(method)) forwarded[method] = (...args) => bounded(method, thread.call(method, args));
  }
  const sink = forwarded as Sink & typeof forwarded;
  const forwardStart = forwarded.start;
  if (forwardStart) {
    sink.start = async () => {
      await forwardStart();
      started = true;
    };
  }
  const forwardStop = forwarded.stop;
  sink.stop = async () => {
    let hung = false;
    try {
      await forwardStop?.();
    } catch (error) {
      hung = error instanceof PluginTimeoutError;
      throw error;
    } finally {
      // A plugin that did not answer in time gets no more: its thread is terminated now.
      await thread.close(hung ? 0 : CLOSE_GRACE_MS);
      await supervisor.stopAll();
    }
  };
  releasers.set(sink, () => supervisor.stopAll());
  return sink;
}

/** Ends the thread of an isolated plugin sink that will not be stopped (created, but its pipeline did not start). */
export async function releaseSink(sink: Sink): Promise<void> {
  await releasers.get(sink)?.();
}
