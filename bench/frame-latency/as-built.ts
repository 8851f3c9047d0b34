/**
 * Variant (a): earshot as built. The Service runs the pipeline file exactly as
 * `earshot run` does (audio host thread, rings, the transport pool sized by
 * the service), with the two thread modules wrapped only to install the
 * probe. Frame latencies are the transport's own onFrameSent figures, taken
 * where the service feeds its latency histogram.
 */
import pino from 'pino';
import { SecretScrubber } from '../../src/service/logger.js';
import { Service, transportPoolOptions } from '../../src/service/service.js';
import { benchPipelineFile } from './pipeline-file.js';
import type { PipelineOutcome, ScenarioSpec, VariantRun } from './scenario.js';

const POLL_MS = 20;

const AUDIO_HOST = new URL('./probed-audio-host.js', import.meta.url);
const TRANSPORT = new URL('./probed-transport.js', import.meta.url);

export function startAsBuilt(spec: ScenarioSpec, sourceDurationMs: number, warnings: string[]): VariantRun {
  const loaded = benchPipelineFile(spec, sourceDurationMs);
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line.trim()) });
  const service = new Service({
    file: loaded.file,
    loaded,
    logger,
    secrets: new SecretScrubber(),
    modules: { audioHost: AUDIO_HOST, transport: TRANSPORT },
  });
  const latencies = new Map<string, number[]>();
  const observe = service.metrics.observeLatencies.bind(service.metrics);
  service.metrics.observeLatencies = (pipeline, latenciesMs) => {
    let list = latencies.get(pipeline);
    if (!list) latencies.set(pipeline, (list = []));
    for (const ms of latenciesMs) list.push(ms);
    observe(pipeline, latenciesMs);
  };
  const exit = service.run();
  let exited = false;
  void exit.finally(() => (exited = true)).catch(() => undefined);
  const streaming = (async () => {
    for (;;) {
      const runners = service.runners;
      if (runners.length === spec.pipelines && runners.every((r) => r.transcriberStatus?.state === 'streaming')) return;
      if (runners.some((r) => r.state === 'failed')) throw new Error(`a pipeline failed to start: ${runners.find((r) => r.failure)?.failure}`);
      if (exited) throw new Error(`the service stopped before every session opened: ${warnings.slice(-3).join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  })();
  const finished = exit.then((code) => {
    if (code !== 0) throw new Error(`the service exited with code ${code}: ${warnings.slice(-3).join(' | ')}`);
    return service.runners.map(
      (runner): PipelineOutcome => ({
        latenciesMs: latencies.get(runner.name) ?? [],
        framesSent: runner.transportStats?.framesSent ?? 0,
        framesMissing: runner.transportStats?.framesMissing ?? 0,
        droppedUnsent: runner.transportStats?.droppedUnsent ?? 0,
        ringDropped: runner.captureStats?.framesDropped ?? 0,
        sessions: runner.transportStats?.sessions ?? 0,
        reconnects: runner.transportStats?.reconnects ?? 0,
      }),
    );
  });
  // The audio host, and as many transport threads as the service's pool has.
  const transportThreads = transportPoolOptions(spec.pipelines, TRANSPORT)?.maxThreads ?? 1;
  return { probedThreads: 1 + transportThreads, streaming, finished };
}
