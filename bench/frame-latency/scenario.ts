/**
 * One benchmark scenario: a way of carrying frames from capture to the socket
 * (the variant), a condition the machine is in, and how many pipelines run at
 * once. A scenario runs in a child process of its own (scenario-child.ts) so
 * no thread, heap or timer of one run leaks into the next.
 */
import type { ThreadFigures } from '../lib/thread-probe.js';
import type { Distribution } from '../lib/distribution.js';

export const VARIANTS = ['as-built', 'post-copy', 'post-transfer', 'main-thread'] as const;
export type Variant = (typeof VARIANTS)[number];

export const VARIANT_DESCRIPTIONS: Record<Variant, string> = {
  'as-built': '(a) earshot as built: audio host thread -> SharedArrayBuffer ring -> transport worker (Atomics.waitAsync) -> socket',
  'post-copy': '(b) capture thread -> postMessage, a copy per frame -> transport worker -> socket',
  'post-transfer': '(c) capture thread -> postMessage, the frame buffer transferred -> transport worker -> socket',
  'main-thread': "(d) the guide's single script: capture thread (PortAudio's) -> main thread -> socket, sinks on the same thread",
};

export const CONDITIONS = ['idle', 'blocked-loop', 'busy-core'] as const;
export type Condition = (typeof CONDITIONS)[number];

export const CONDITION_DESCRIPTIONS: Record<Condition, string> = {
  idle: 'nothing else running',
  'blocked-loop': 'a sink blocks the main event loop for 200 ms every second',
  'busy-core': "the machine's other core busy (a child process spinning)",
};

export const FRAME_MS = 50;
export const SAMPLE_RATE = 16000;
export const BLOCK_MS = 200;
export const BLOCK_EVERY_MS = 1000;

export interface ScenarioSpec {
  variant: Variant;
  condition: Condition;
  pipelines: number;
  /** Audio before the measurement window (sessions open, JIT warms up); its frames are not counted. */
  warmupMs: number;
  /** CPU, allocation and memory are measured over this window. */
  windowMs: number;
  /** Audio after the window, so the window never overlaps the end of the sources. */
  tailMs: number;
  serverUrl: string;
  resultFile: string;
}

/** What one pipeline's transport reported when it ended. */
export interface PipelineOutcome {
  /** Capture-to-socket latency of every frame sent, in order of sequence number. */
  latenciesMs: number[];
  framesSent: number;
  /** Frames missing from the numbering when they reached the transport (lost before it). */
  framesMissing: number;
  /** Frames the transport's backlog dropped unsent. */
  droppedUnsent: number;
  /** Frames the capture ring dropped (as-built only; as of its last report). */
  ringDropped: number;
  sessions: number;
  reconnects: number;
}

/** A variant started: how to tell it is streaming, and its outcome once every pipeline ended. */
export interface VariantRun {
  /** Threads that answer the probe (installThreadProbe), besides the main thread. */
  probedThreads: number;
  /** Resolves once every pipeline's transcriber session is open. */
  streaming: Promise<void>;
  /** Resolves once every pipeline has sent everything and ended. */
  finished: Promise<PipelineOutcome[]>;
}

export interface RoleFigures {
  threads: number;
  cpuMs: number;
  percentOfCore: number;
  runQueueMs: number;
  wakeupsPerFrame: number;
  /** Share of the CPU time spent in the kernel (thread-weighted). */
  kernelShare: number;
  heapBytesPerFrame: number;
  gcCount: number;
  eventLoopUtilization: number;
}

/** What the child process measured. */
export interface ScenarioMeasurement {
  spec: ScenarioSpec;
  sourceDurationMs: number;
  /** From starting the pipelines to every session open. */
  startupMs: number;
  /** Frames per pipeline left out of the latency figures (before the window opened). */
  warmupFrames: number;
  windowMs: number;
  framesInWindow: number;
  latencyMs: Distribution;
  client: { framesSent: number; framesMissing: number; droppedUnsent: number; ringDropped: number; sessions: number; reconnects: number };
  cpu: { processMs: number; percentOfCore: number; perStreamPercentOfCore: number };
  /** V8 heap bytes allocated per frame, all threads (see thread-probe.ts for the method). */
  heapBytesPerFrame: number;
  roles: Record<string, RoleFigures>;
  memory: { rssBytes: number; heapUsedBytes: number; externalBytes: number; arrayBuffersBytes: number };
  /**
   * The whole machine over the window, in cores busy: `process` is this run's
   * process, `others` everything else (the server, the spinner of busy-core,
   * and whatever else shares the machine).
   */
  machineCores: { busy: number; process: number; others: number };
  /** The longest the main thread's event loop was held up (shows the blocking sink did block). */
  mainLoopDelayMaxMs: number;
  threads: ThreadFigures[];
  warnings: string[];
}

/** The measurement plus what the server saw and the parent process knows. */
export interface ScenarioResult extends ScenarioMeasurement {
  framesExpected: number;
  serverSessions: number;
  framesReceivedByServer: number;
  framesLost: number;
  serverCpuPercentOfCore: number;
}
