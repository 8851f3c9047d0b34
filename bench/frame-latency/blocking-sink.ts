/**
 * A sink plugin that blocks the main thread's event loop for block_ms every
 * every_ms, whether or not transcripts arrive: the worst neighbour a pipeline
 * can have (a plugin doing synchronous I/O or heavy formatting). With
 * block_ms 0 it does nothing, for pipelines that need a sink and no blocker.
 */
import type { SinkPlugin } from '../../src/sinks/sink.js';

export interface BlockingSinkOptions {
  block_ms: number;
  every_ms: number;
}

/** Spins this many iterations between clock reads: each read allocates a number, which would swamp the allocation figures. */
const SPINS_PER_CLOCK_READ = 1_000_000;

/** Keeps this thread busy for ms: CPU work, as a sink formatting or compressing would do. */
function spin(ms: number): number {
  const until = performance.now() + ms;
  let sink = 0;
  while (performance.now() < until) for (let i = 0; i < SPINS_PER_CLOCK_READ; i++) sink = (sink + i) | 0;
  return sink;
}

/** Busy-waits blockMs every everyMs on this thread; returns a function that stops it. */
export function blockEventLoop(blockMs: number, everyMs: number): () => void {
  if (blockMs <= 0) return () => undefined;
  const timer = setInterval(() => spin(blockMs), everyMs);
  return () => clearInterval(timer);
}

const plugin: SinkPlugin<BlockingSinkOptions> = {
  optionsSchema: {
    type: 'object',
    required: ['block_ms', 'every_ms'],
    properties: { block_ms: { type: 'number', minimum: 0 }, every_ms: { type: 'number', minimum: 1 } },
  },
  create(options) {
    let stop = (): void => undefined;
    return {
      start() {
        stop = blockEventLoop(options.block_ms, options.every_ms);
        return Promise.resolve();
      },
      write() {},
      stop() {
        stop();
        return Promise.resolve();
      },
    };
  },
};

export default plugin;
