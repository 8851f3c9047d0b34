/**
 * Prometheus metrics for /metrics. Workers and the audio host report
 * cumulative counts (every second, by message); these collectors read the
 * latest figures at scrape time, so a scrape costs the audio path nothing.
 * Names follow `earshot_<what>_<unit>_total`; drops carry the stage where
 * they happened, so a gap can be traced to the ring, the device, the
 * reconnect backlog or a sink queue.
 *
 * Counters stay monotonic across reloads: when a pipeline is restarted or
 * removed, the last figures of its old runner are kept and the new runner's
 * counts are added to them.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PipelineRunner } from './pipeline-runner.js';

/** Latency buckets in seconds: 50 us to 1 s. */
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

interface Sample {
  labels: Record<string, string>;
  value: number;
}

type Sampler = (runner: PipelineRunner) => Sample[];

/** The /events streams (event-stream.ts). */
export interface EventStreamMetrics {
  streams: Gauge;
  sent: Counter;
  dropped: Counter;
}

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly frameLatency: Histogram<'pipeline'>;
  readonly reloads: Counter<'result'>;
  readonly eventStreams: EventStreamMetrics;
  private readonly counterSamplers = new Map<string, Sampler>();
  /** Counter name -> label set -> what retired runners had counted. */
  private readonly retired = new Map<string, Map<string, Sample>>();

  constructor(private readonly runners: () => readonly PipelineRunner[]) {
    // The event-loop lag monitor samples with a timer; at its default 10 ms it wakes the main thread
    // 100 times a second, more than all the pipelines' own messages. 100 ms still shows a stall.
    collectDefaultMetrics({ register: this.registry, prefix: 'earshot_process_', eventLoopMonitoringPrecision: 100 });
    const pipelineValue = (value: (runner: PipelineRunner) => number | undefined): Sampler => (runner) => {
      const v = value(runner);
      return v === undefined ? [] : [{ labels: { pipeline: runner.name }, value: v }];
    };
    const sinkValue = (value: (sink: PipelineRunner['sinkActors'][number]) => number): Sampler => (runner) =>
      runner.sinkActors.map((sink) => ({ labels: { pipeline: runner.name, sink: sink.name }, value: value(sink) }));

    const counter = (name: string, help: string, labelNames: string[], sampler: Sampler) => this.define('counter', name, help, labelNames, sampler);
    const gauge = (name: string, help: string, labelNames: string[], sampler: Sampler) => this.define('gauge', name, help, labelNames, sampler);

    counter('earshot_capture_frames_total', 'Frames captured into the ring.', ['pipeline'], pipelineValue((r) => r.captureStats?.framesWritten));
    counter('earshot_capture_restarts_total', 'Times capture was reopened after its device failed.', ['pipeline'], pipelineValue((r) => r.captureStats?.restarts));
    counter('earshot_capture_overflows_total', 'Overflows the audio device reported (audio lost before earshot).', ['pipeline'], pipelineValue((r) => r.captureStats?.overflows));
    counter('earshot_transport_frames_sent_total', 'Frames sent to the transcriber (first sends; replays not counted).', ['pipeline'], pipelineValue((r) => r.transportStats?.framesSent));
    counter('earshot_transport_frames_replayed_total', 'Frames sent again to a new session after a reconnect.', ['pipeline'], pipelineValue((r) => r.transportStats?.framesReplayed));
    counter('earshot_transport_bytes_sent_total', 'Audio bytes sent to the transcriber.', ['pipeline'], pipelineValue((r) => r.transportStats?.bytesSent));
    counter('earshot_transcriber_sessions_total', 'Transcriber sessions opened.', ['pipeline'], pipelineValue((r) => r.transportStats?.sessions));
    counter('earshot_transcriber_reconnects_total', 'Sessions that ended unexpectedly and were replaced.', ['pipeline'], pipelineValue((r) => r.transportStats?.reconnects));
    counter('earshot_turns_final_total', 'Final turns delivered.', ['pipeline'], pipelineValue((r) => r.transportStats?.turnsFinal));
    counter('earshot_frames_dropped_total', 'Audio frames lost, by the stage that lost them.', ['pipeline', 'stage'], (runner) => [
      { labels: { pipeline: runner.name, stage: 'ring' }, value: runner.captureStats?.framesDropped ?? 0 },
      { labels: { pipeline: runner.name, stage: 'device' }, value: Math.ceil((runner.captureStats?.samplesLost ?? 0) / runner.frameSamples) },
      { labels: { pipeline: runner.name, stage: 'backlog' }, value: runner.transportStats?.framesLost ?? 0 },
    ]);
    counter('earshot_frames_paused_total', 'Frames captured while the pipeline was paused, discarded on purpose (not lost).', ['pipeline'], pipelineValue((r) => r.transportStats?.framesPaused));
    counter('earshot_sink_events_total', 'Events handed to a sink and accepted (partial turns included; a file sink skips them).', ['pipeline', 'sink'], sinkValue((s) => s.counters.written));
    counter('earshot_sink_errors_total', 'Failed sink writes (retried or given up).', ['pipeline', 'sink'], sinkValue((s) => s.counters.errors));
    counter('earshot_sink_dropped_events_total', 'Events a sink lost (queue full, or given up after retries).', ['pipeline', 'sink'], sinkValue((s) => s.counters.dropped));

    gauge('earshot_pipeline_up', '1 while the pipeline runs.', ['pipeline'], pipelineValue((r) => (r.state === 'running' ? 1 : 0)));
    gauge('earshot_pipeline_paused', '1 while the pipeline is paused (POST /pipelines/<name>/pause).', ['pipeline'], pipelineValue((r) => (r.state === 'running' && r.paused ? 1 : 0)));
    gauge('earshot_transcriber_connected', '1 while a transcriber session is open.', ['pipeline'], pipelineValue((r) => (r.transcriberStatus?.state === 'streaming' ? 1 : 0)));
    gauge('earshot_backlog_frames', 'Frames held for sending or replay.', ['pipeline'], pipelineValue((r) => r.backlogFrames));
    gauge('earshot_sink_queue_depth', 'Events waiting in a sink queue.', ['pipeline', 'sink'], sinkValue((s) => s.queueDepth));

    this.frameLatency = new Histogram({
      name: 'earshot_frame_latency_seconds',
      help: 'From a frame complete in the capture thread to its bytes handed to the socket.',
      labelNames: ['pipeline'],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
    this.reloads = new Counter({
      name: 'earshot_config_reloads_total',
      help: 'SIGHUP reloads of the pipeline file, applied or rejected (invalid file).',
      labelNames: ['result'],
      registers: [this.registry],
    });
    this.eventStreams = {
      streams: new Gauge({ name: 'earshot_event_streams', help: 'Clients connected to /events (the /captions page is one).', registers: [this.registry] }),
      sent: new Counter({ name: 'earshot_event_stream_events_total', help: 'Transcript events written to /events clients (replays included).', registers: [this.registry] }),
      dropped: new Counter({ name: 'earshot_event_streams_dropped_total', help: '/events clients disconnected for falling too far behind.', registers: [this.registry] }),
    };
  }

  observeLatencies(pipeline: string, latenciesMs: number[]): void {
    for (const ms of latenciesMs) this.frameLatency.observe({ pipeline }, ms / 1000);
  }

  /** Keeps what a runner counted, before it leaves the list of runners for good (restarted or removed). */
  retire(runner: PipelineRunner): void {
    for (const [name, sampler] of this.counterSamplers) {
      const kept = this.retired.get(name) ?? new Map<string, Sample>();
      this.retired.set(name, kept);
      for (const sample of sampler(runner)) addSample(kept, sample);
    }
  }

  private define(kind: 'counter' | 'gauge', name: string, help: string, labelNames: string[], sampler: Sampler): void {
    const runners = this.runners;
    const retired = this.retired;
    if (kind === 'counter') {
      this.counterSamplers.set(name, sampler);
      new Counter({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          const totals = new Map<string, Sample>();
          for (const sample of retired.get(name)?.values() ?? []) addSample(totals, sample);
          for (const runner of runners()) for (const sample of sampler(runner)) addSample(totals, sample);
          for (const { labels, value } of totals.values()) this.inc(labels, value);
        },
      });
      return;
    }
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const runner of runners()) for (const { labels, value } of sampler(runner)) this.set(labels, value);
      },
    });
  }
}

function addSample(into: Map<string, Sample>, sample: Sample): void {
  const key = JSON.stringify(Object.entries(sample.labels).sort());
  const existing = into.get(key);
  if (existing) existing.value += sample.value;
  else into.set(key, { labels: { ...sample.labels }, value: sample.value });
}
