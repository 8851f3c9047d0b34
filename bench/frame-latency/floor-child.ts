/**
 * The machine's floor for a frame hand-off, measured beside the designs under
 * the same condition: a worker stamps the time into a SharedArrayBuffer every
 * 50 ms and calls Atomics.notify; another worker, waiting in
 * Atomics.waitAsync, records how late it woke. No frame, no socket: what is
 * left is the operating system and the machine (wake-up latency, other load).
 * A design's latency can be read against it.
 *
 *   node dist/bench/frame-latency/floor-child.js '{"condition":"idle","samples":200,"resultFile":"..."}'
 */
import { writeFile } from 'node:fs/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { monotonicMs } from '../../src/capture/clock.js';
import { distribution } from '../lib/distribution.js';
import { blockEventLoop } from './blocking-sink.js';
import { BLOCK_EVERY_MS, BLOCK_MS, FRAME_MS, type Condition } from './scenario.js';

export interface FloorSpec {
  condition: Condition;
  samples: number;
  resultFile: string;
}

interface FloorWorkerData {
  role: 'producer' | 'consumer';
  buffer: SharedArrayBuffer;
  samples: number;
}

/** Layout: an Int32 counter (padded to 8 bytes), then the Float64 stamp. */
const COUNT = 0;
const BYTES = 16;

function produce({ buffer, samples }: FloorWorkerData): void {
  const counter = new Int32Array(buffer, 0, 2);
  const stamp = new Float64Array(buffer, 8, 1);
  const start = monotonicMs();
  let sent = 0;
  const tick = (): void => {
    stamp[0] = monotonicMs();
    Atomics.add(counter, COUNT, 1);
    Atomics.notify(counter, COUNT);
    if (++sent < samples) setTimeout(tick, Math.max(1, Math.ceil(start + (sent + 1) * FRAME_MS - monotonicMs())));
  };
  setTimeout(tick, FRAME_MS);
}

async function consume({ buffer, samples }: FloorWorkerData): Promise<number[]> {
  const counter = new Int32Array(buffer, 0, 2);
  const stamp = new Float64Array(buffer, 8, 1);
  const latencies: number[] = [];
  // A pending waitAsync does not keep a thread alive on its own.
  const keepAlive = setInterval(() => undefined, 60_000);
  let seen = 0;
  // Counts hand-offs, not wake-ups: a wake-up late enough to find two has a latency for the last one only.
  while (seen < samples) {
    const wait = Atomics.waitAsync(counter, COUNT, seen);
    if (wait.async) await wait.value;
    const now = Atomics.load(counter, COUNT);
    if (now !== seen) {
      latencies.push(monotonicMs() - (stamp[0] as number));
      seen = now;
    }
  }
  clearInterval(keepAlive);
  return latencies;
}

async function main(spec: FloorSpec): Promise<void> {
  const buffer = new SharedArrayBuffer(BYTES);
  const stopBlocking = spec.condition === 'blocked-loop' ? blockEventLoop(BLOCK_MS, BLOCK_EVERY_MS) : () => undefined;
  const data = (role: FloorWorkerData['role']): FloorWorkerData => ({ role, buffer, samples: spec.samples });
  const consumer = new Worker(new URL(import.meta.url), { workerData: data('consumer') });
  const latencies = new Promise<number[]>((resolve, reject) => {
    consumer.once('message', resolve);
    consumer.once('error', reject);
  });
  const producer = new Worker(new URL(import.meta.url), { workerData: data('producer') });
  const result = await latencies;
  stopBlocking();
  await producer.terminate();
  await consumer.terminate();
  await writeFile(spec.resultFile, JSON.stringify(distribution(result)));
}

if (isMainThread) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as FloorSpec;
  main(spec).then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`floor ${spec.condition}: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
} else {
  const data = workerData as FloorWorkerData;
  if (data.role === 'producer') produce(data);
  else parentPort?.postMessage(await consume(data));
}
