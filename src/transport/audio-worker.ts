/**
 * A pipeline's transport worker: the audio half of the pipeline, off the main
 * thread. It reads frames from the pipeline's ring as they land (Atomics
 * wake-ups, no message per frame), keeps them in the backlog, and streams
 * them to the transcriber; transcript events, a few a second, go back to the
 * main thread by message. Nothing the main thread does (sinks, plugins, slow
 * I/O) can delay a frame on its way to the socket.
 *
 * Runs as one long-lived piscina task per pipeline.
 */
import { Observable, filter, tap } from 'rxjs';
import pino, { type Logger } from 'pino';
import { FrameRing, type RingFrame } from '../capture/ring.js';
import { deadline } from '../pipeline/deadline.js';
import type { PipelineConfig } from '../config/schema.js';
import { assemblyAIConnector, LOCAL_TERMINATION_TIMEOUT_MS, localConnector } from './connectors.js';
import { TranscriptionStream, type SessionConnector } from './stream.js';
import type { FromWorker, PipelineTask, ToWorker } from './worker-protocol.js';
import type { AudioBacklog } from './backlog.js';
import { createWavRecorder, type WavRecorder } from '../sinks/wav.js';

const STATS_INTERVAL_MS = 1000;

/**
 * Frames from the ring, as an Observable that completes when capture has
 * closed the ring and every frame was read. Each frame is read straight into
 * a backlog buffer: the one copy a frame makes on its way to the socket.
 */
export function ringFrames(ring: FrameRing, backlog: AudioBacklog, stopped: AbortSignal): Observable<RingFrame> {
  return new Observable<RingFrame>((subscriber) => {
    let active = true;
    // The reader waits for frames without a timeout (a timed wait costs the
    // thread a second wake-up per frame, when its timeout lapses), so
    // stopping must wake it.
    const wake = (): void => ring.wakeReader();
    stopped.addEventListener('abort', wake, { once: true });
    void (async () => {
      while (active && !stopped.aborted) {
        const into = backlog.borrow();
        const frame = ring.read(into);
        if (frame) {
          subscriber.next(frame);
          continue;
        }
        backlog.release(into);
        if (ring.closed && ring.fill === 0) break;
        await ring.waitForFrame();
      }
      stopped.removeEventListener('abort', wake);
      subscriber.complete();
    })();
    return () => {
      active = false;
      wake();
    };
  });
}

export default async function runPipelineAudio(task: PipelineTask): Promise<void> {
  const { port, pipeline, config } = task;
  const send = (message: FromWorker): void => port.postMessage(message);
  const logger = pino(
    { level: task.logLevel, base: { pipeline } },
    { write: (line: string) => send({ type: 'log', line }) },
  );
  const ring = new FrameRing(task.ring);
  const latencies: number[] = [];
  const aborted = new AbortController();
  const transcriber = await connectorFor(config, ring.sampleRate, logger);
  const stream = new TranscriptionStream({
    pipeline,
    ...(config.label !== undefined ? { label: config.label } : {}),
    sampleRate: ring.sampleRate,
    frameSamples: ring.frameSamples,
    bufferSeconds: config.transcriber.buffer_seconds,
    connect: transcriber.connect,
    formatTurns: config.transcriber.type === 'local' || config.transcriber.params.format_turns === true,
    reconnect: config.transcriber.type === 'assemblyai' ? config.transcriber.reconnect : config.transcriber.restart,
    terminationTimeoutMs: config.transcriber.type === 'assemblyai' ? config.transcriber.termination_timeout_ms : LOCAL_TERMINATION_TIMEOUT_MS,
    lookaheadMs: 60_000,
    confirmAfterMs: config.transcriber.type === 'assemblyai' ? 5000 : Infinity,
    logger,
    ...(config.speakers !== undefined ? { speakers: config.speakers } : {}),
    onEvent: (event) => send({ type: 'transcript', event }),
    onRevision: (event) => send({ type: 'speaker_revision', event }),
    onStatus: (status) => send({ type: 'status', status }),
    onFrameSent: (latencyMs) => latencies.push(latencyMs),
  });

  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'abort':
        aborted.abort();
        stream.stop();
        return;
      case 'pause':
        stream.pause();
        return;
      case 'resume':
        stream.resume();
        return;
      case 'force_endpoint':
        stream.forceEndpoint();
        return;
      case 'update_configuration':
        stream.updateConfiguration(message.params);
        return;
    }
  });

  const statsTimer = setInterval(() => {
    send({ type: 'stats', stats: stream.snapshotStats(), backlogFrames: stream.backlog.size, latenciesMs: latencies.splice(0) });
  }, STATS_INTERVAL_MS);

  const recorders = await startRecorders(task, ring.sampleRate, logger);
  const frameMs = (ring.frameSamples * 1000) / ring.sampleRate;
  let expectedSeq = 0;
  const record = (frame: RingFrame): void => {
    // A gap in the numbering (audio that never reached us, or a pause): silence keeps the recording on the pipeline's clock.
    if (frame.seq > expectedSeq) for (const r of recorders) r.writeGap((frame.seq - expectedSeq) * frameMs);
    expectedSeq = frame.seq + 1;
    for (const r of recorders) r.write(frame.samples);
  };

  if (task.startPaused) stream.pause();
  stream.start();
  // Frames captured while paused are read (so the ring never overflows) and discarded: not sent, not recorded.
  const unlessPaused = (frame: RingFrame): boolean => {
    if (!stream.isPaused) return true;
    stream.framePaused(frame.seq);
    stream.backlog.release(frame.samples);
    return false;
  };
  await new Promise<void>((resolve) => {
    ringFrames(ring, stream.backlog, aborted.signal)
      .pipe(
        filter(unlessPaused),
        tap(record),
        tap((frame) => stream.backlog.append(frame.seq, frame.captureTimeMs, frame.samples)),
      )
      .subscribe({ next: (frame) => stream.frameAdded(frame.seq), complete: resolve });
  });

  // The ring is closed and drained: capture is over (stopped, or the file ended).
  if (!aborted.signal.aborted) {
    // A timer we hold: an AbortSignal.timeout() inside AbortSignal.any() can be collected before it fires (Node 20).
    const bound = deadline(task.finishTimeoutMs);
    await stream.finish(AbortSignal.any([bound.signal, aborted.signal]));
    bound.clear();
  }
  clearInterval(statsTimer);
  for (const recorder of recorders) {
    await recorder.close().catch((error: unknown) => logger.error({ err: error }, 'WAV recording did not close cleanly'));
  }
  send({ type: 'stats', stats: stream.snapshotStats(), backlogFrames: stream.backlog.size, latenciesMs: latencies.splice(0) });
  await transcriber.close();
  const failed = stream.failed;
  send({ type: 'ended', ...(failed ? { failed: { name: failed.name, message: failed.message, permanent: failed.permanent, ...(failed.code !== undefined ? { code: failed.code } : {}) } } : {}) });
  port.close();
}

/** The pipeline's wav sinks record here, beside the audio path: what the transcriber is sent. */
async function startRecorders(task: PipelineTask, sampleRate: number, logger: Logger): Promise<WavRecorder[]> {
  const recorders: WavRecorder[] = [];
  for (const sink of task.config.sinks) {
    if (sink.type !== 'wav') continue;
    const recorder = createWavRecorder(sink, {
      pipeline: task.pipeline,
      ...(task.config.label !== undefined ? { label: task.config.label } : {}),
      baseDir: task.baseDir,
      sampleRate,
      ...(sink.name !== undefined ? { name: sink.name } : {}),
      logger: logger.child({ sink: sink.name ?? 'wav' }),
    });
    await recorder.start();
    recorders.push(recorder);
  }
  return recorders;
}

async function connectorFor(
  config: PipelineConfig,
  sampleRate: number,
  logger: Logger,
): Promise<{ connect: SessionConnector; close: () => Promise<void> }> {
  const transcriber = config.transcriber;
  switch (transcriber.type) {
    case 'assemblyai':
      return { connect: assemblyAIConnector(transcriber, sampleRate, logger), close: () => Promise.resolve() };
    case 'local':
      return localConnector(transcriber, sampleRate, logger);
  }
}
