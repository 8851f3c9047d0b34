/**
 * Prometheus metrics for /metrics. Workers and the audio host report
 * cumulative counts (every second, by message); these collectors read the
 * latest figures at scrape time, so a scrape costs the audio path nothing.
 * Names follow `earshot_<what>_<unit>_total`; drops carry the stage where
 * they happened, so a gap can be traced to the ring, the device, the
 * reconnect backlog or a sink queue.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { PipelineRunner } from './pipeline-runner.js';

/** Latency buckets in seconds: 50 us to 1 s. */
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly frameLatency: Histogram<'pipeline'>;

  constructor(runners: () => readonly PipelineRunner[]) {
    // The event-loop lag monitor samples with a timer; at its default 10 ms it wakes the main thread
    // 100 times a second, more than all the pipelines' own messages. 100 ms still shows a stall.
    collectDefaultMetrics({ register: this.registry, prefix: 'earshot_process_', eventLoopMonitoringPrecision: 100 });
    const registers = [this.registry];
    const perPipeline = (
      name: string,
      help: string,
      value: (runner: PipelineRunner) => number | undefined,
      kind: 'counter' | 'gauge' = 'counter',
    ): void => {
      const collect = function (this: Counter<'pipeline'> | Gauge<'pipeline'>): void {
        this.reset();
        for (const runner of runners()) {
          const v = value(runner);
          if (v === undefined) continue;
          if (this instanceof Counter) this.inc({ pipeline: runner.name }, v);
          else this.set({ pipeline: runner.name }, v);
        }
      };
      if (kind === 'counter') new Counter({ name, help, labelNames: ['pipeline'], registers, collect });
      else new Gauge({ name, help, labelNames: ['pipeline'], registers, collect });
    };

    perPipeline('earshot_capture_frames_total', 'Frames captured into the ring.', (r) => r.captureStats?.framesWritten);
    perPipeline('earshot_capture_restarts_total', 'Times capture was reopened after its device failed.', (r) => r.captureStats?.restarts);
    perPipeline('earshot_capture_overflows_total', 'Overflows the audio device reported (audio lost before earshot).', (r) => r.captureStats?.overflows);
    perPipeline('earshot_transport_frames_sent_total', 'Frames sent to the transcriber (first sends; replays not counted).', (r) => r.transportStats?.framesSent);
    perPipeline('earshot_transport_frames_replayed_total', 'Frames sent again to a new session after a reconnect.', (r) => r.transportStats?.framesReplayed);
    perPipeline('earshot_transport_bytes_sent_total', 'Audio bytes sent to the transcriber.', (r) => r.transportStats?.bytesSent);
    perPipeline('earshot_transcriber_sessions_total', 'Transcriber sessions opened.', (r) => r.transportStats?.sessions);
    perPipeline('earshot_transcriber_reconnects_total', 'Sessions that ended unexpectedly and were replaced.', (r) => r.transportStats?.reconnects);
    perPipeline('earshot_turns_final_total', 'Final turns delivered.', (r) => r.transportStats?.turnsFinal);
    perPipeline('earshot_transcriber_connected', '1 while a transcriber session is open.', (r) => (r.transcriberStatus?.state === 'streaming' ? 1 : 0), 'gauge');
    perPipeline('earshot_backlog_frames', 'Frames held for sending or replay.', (r) => r.backlogFrames, 'gauge');

    new Counter({
      name: 'earshot_frames_dropped_total',
      help: 'Audio frames lost, by the stage that lost them.',
      labelNames: ['pipeline', 'stage'],
      registers,
      collect() {
        this.reset();
        for (const runner of runners()) {
          const capture = runner.captureStats;
          const transport = runner.transportStats;
          const frameSamples = runner.frameSamples;
          this.inc({ pipeline: runner.name, stage: 'ring' }, capture?.framesDropped ?? 0);
          this.inc({ pipeline: runner.name, stage: 'device' }, Math.ceil((capture?.samplesLost ?? 0) / frameSamples));
          this.inc({ pipeline: runner.name, stage: 'backlog' }, transport?.droppedUnsent ?? 0);
        }
      },
    });

    const perSink = (name: string, help: string, value: (counters: { written: number; errors: number; dropped: number }, depth: number) => number, kind: 'counter' | 'gauge'): void => {
      const collect = function (this: Counter<'pipeline' | 'sink'> | Gauge<'pipeline' | 'sink'>): void {
        this.reset();
        for (const runner of runners()) {
          for (const sink of runner.sinkActors) {
            const v = value(sink.counters, sink.queueDepth);
            if (this instanceof Counter) this.inc({ pipeline: runner.name, sink: sink.name }, v);
            else this.set({ pipeline: runner.name, sink: sink.name }, v);
          }
        }
      };
      if (kind === 'counter') new Counter({ name, help, labelNames: ['pipeline', 'sink'], registers, collect });
      else new Gauge({ name, help, labelNames: ['pipeline', 'sink'], registers, collect });
    };
    perSink('earshot_sink_events_total', 'Events a sink has written.', (c) => c.written, 'counter');
    perSink('earshot_sink_errors_total', 'Failed sink writes (retried or given up).', (c) => c.errors, 'counter');
    perSink('earshot_sink_dropped_events_total', 'Events a sink lost (queue full, or given up after retries).', (c) => c.dropped, 'counter');
    perSink('earshot_sink_queue_depth', 'Events waiting in a sink queue.', (_c, depth) => depth, 'gauge');

    this.frameLatency = new Histogram({
      name: 'earshot_frame_latency_seconds',
      help: 'From a frame complete in the capture thread to its bytes handed to the socket.',
      labelNames: ['pipeline'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
  }

  observeLatencies(pipeline: string, latenciesMs: number[]): void {
    for (const ms of latenciesMs) this.frameLatency.observe({ pipeline }, ms / 1000);
  }
}
