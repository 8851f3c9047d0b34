/**
 * Designs (b), (c) and (d): the same source, assembler, backlog and stream as
 * earshot, with frames handed from the capture thread by postMessage:
 * - post-copy: to a transport worker, a structured-clone copy per frame;
 * - post-transfer: to a transport worker, each frame's buffer transferred;
 * - main-thread: to the main thread, which sends them (the guide's script).
 * The transport threads are a piscina pool sized as the service sizes its own.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { SyntheticSourceConfig } from '../../src/config/schema.js';
import { transportPoolOptions } from '../../src/service/service.js';
import type { CaptureThreadData } from './capture-thread.js';
import type { MessageTransportTask } from './message-transport-task.js';
import { carryFrames, type CarryReport } from './message-transport.js';
import { benchPipelineFile, pipelineName } from './pipeline-file.js';
import { blockEventLoop } from './blocking-sink.js';
import { BLOCK_EVERY_MS, BLOCK_MS, type PipelineOutcome, type ScenarioSpec, type VariantRun } from './scenario.js';

const CAPTURE_THREAD = new URL('./capture-thread.js', import.meta.url);
const TRANSPORT_TASK = new URL('./message-transport-task.js', import.meta.url);

export function startMessageDesign(spec: ScenarioSpec, sourceDurationMs: number): VariantRun {
  const { config } = benchPipelineFile(spec, sourceDurationMs);
  const onMainThread = spec.variant === 'main-thread';
  // No sink runs in these designs: the blocking sink's effect, a blocked main loop, is made directly.
  const stopBlocking = spec.condition === 'blocked-loop' ? blockEventLoop(BLOCK_MS, BLOCK_EVERY_MS) : () => undefined;

  const names = Array.from({ length: spec.pipelines }, (_, i) => pipelineName(i));
  const channels = names.map(() => new MessageChannel());
  const captureData: CaptureThreadData = {
    pipelines: names.map((name, i) => ({ port: channels[i]!.port1, source: config.pipelines[name]!.source as SyntheticSourceConfig })),
    transfer: spec.variant === 'post-transfer',
  };
  let streamingCount = 0;
  let allStreaming: () => void = () => undefined;
  const streaming = new Promise<void>((resolve) => {
    allStreaming = resolve;
  });
  const onStreaming = (): void => {
    if (++streamingCount === names.length) allStreaming();
  };

  let pool: Piscina | undefined;
  let reports: Promise<CarryReport[]>;
  if (onMainThread) {
    reports = Promise.all(names.map((name, i) => carryFrames({ pipeline: name, config: config.pipelines[name]!, frames: channels[i]!.port2, onStreaming })));
  } else {
    const transportPool = new Piscina(transportPoolOptions(names.length, TRANSPORT_TASK));
    pool = transportPool;
    reports = Promise.all(
      names.map((name, i) => {
        const control = new MessageChannel();
        control.port1.on('message', onStreaming);
        const task: MessageTransportTask = { pipeline: name, config: config.pipelines[name]!, frames: channels[i]!.port2, control: control.port2 };
        const run = transportPool.run(task, { transferList: [channels[i]!.port2, control.port2] }) as Promise<CarryReport>;
        return run.finally(() => control.port1.close());
      }),
    );
  }
  const capture = new Worker(CAPTURE_THREAD, { workerData: captureData, transferList: channels.map((c) => c.port1) });
  const captureFailed = new Promise<never>((_resolve, reject) => capture.once('error', reject));

  const finished = Promise.race([reports, captureFailed])
    .then((all) =>
      all.map(
        (report): PipelineOutcome => ({
          latenciesMs: report.latenciesMs,
          framesSent: report.stats.framesSent,
          framesMissing: report.stats.framesMissing,
          droppedUnsent: report.stats.droppedUnsent,
          ringDropped: 0,
          sessions: report.stats.sessions,
          reconnects: report.stats.reconnects,
        }),
      ),
    )
    .finally(async () => {
      stopBlocking();
      await pool?.destroy();
      await capture.terminate();
    });
  const transportThreads = onMainThread ? 0 : (transportPoolOptions(names.length, TRANSPORT_TASK)?.maxThreads ?? 1);
  return { probedThreads: 1 + transportThreads, streaming, finished };
}
