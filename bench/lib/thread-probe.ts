/**
 * What one thread costs over a measurement window, measured inside the thread:
 *
 * - CPU: the kernel's per-thread scheduler accounting (/proc/thread-self/schedstat,
 *   nanoseconds on a CPU and nanoseconds runnable but waiting for one).
 * - Heap allocation: V8 has no running total of bytes allocated, but every byte
 *   allocated in the window is either still on the heap at its end or was freed
 *   by a garbage collection in it. So allocated = (used heap at the end - at
 *   the start) + the sum over every GC of (used before - used after), with each
 *   GC's before/after figures from v8.GCProfiler. This counts JS objects on the
 *   V8 heap; ArrayBuffer backing stores live outside it and are not counted.
 * - Wake-ups: voluntary context switches (/proc/thread-self/status), each one
 *   the thread going to sleep and being woken again; on a virtual machine every
 *   wake-up of an idle thread costs far more CPU than the work it wakes for.
 * - Event-loop utilization: the share of the window the thread's loop was busy.
 *
 * Benchmarked threads call installThreadProbe(role) once; the main thread opens
 * and closes the window in all of them at once through a BroadcastChannel
 * (collectThreadFigures), and measures itself with ThreadWindow directly.
 */
import { readFileSync } from 'node:fs';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import v8 from 'node:v8';
import { BroadcastChannel, threadId } from 'node:worker_threads';

const CHANNEL = 'earshot-bench-thread-probe';

export interface ThreadFigures {
  role: string;
  threadId: number;
  cpuMs: number;
  /** Time the thread was ready to run but waited for a CPU. */
  runQueueMs: number;
  wakeups: number;
  /** Of cpuMs, the share spent in the kernel (system calls: socket writes, futexes), from 10 ms ticks. */
  kernelShare: number;
  heapAllocatedBytes: number;
  gcCount: number;
  gcMs: number;
  eventLoopUtilization: number;
}

interface GcStatistic {
  cost: number;
  beforeGC: { heapStatistics: { usedHeapSize: number } };
  afterGC: { heapStatistics: { usedHeapSize: number } };
}

interface SchedulerFigures {
  cpuNs: number;
  waitNs: number;
  voluntarySwitches: number;
  userTicks: number;
  systemTicks: number;
}

function scheduler(): SchedulerFigures {
  const [cpu, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(/\s+/);
  const switches = /voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync('/proc/thread-self/status', 'utf8'));
  // utime and stime are fields 14 and 15 of stat, counted after the command name's closing parenthesis.
  const stat = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  return {
    cpuNs: Number(cpu),
    waitNs: Number(wait),
    voluntarySwitches: Number(switches?.[1] ?? NaN),
    userTicks: Number(stat[11]),
    systemTicks: Number(stat[12]),
  };
}

function share(part: number, rest: number): number {
  return part + rest === 0 ? 0 : part / (part + rest);
}

/** One thread's window: open() starts counting, close() returns the figures. */
export class ThreadWindow {
  private readonly profiler = new v8.GCProfiler();
  private readonly startSched: SchedulerFigures;
  private readonly startElu: EventLoopUtilization;
  private readonly startUsedHeap: number;

  private constructor(private readonly role: string) {
    this.profiler.start();
    this.startUsedHeap = v8.getHeapStatistics().used_heap_size;
    this.startSched = scheduler();
    this.startElu = performance.eventLoopUtilization();
  }

  static open(role: string): ThreadWindow {
    return new ThreadWindow(role);
  }

  close(): ThreadFigures {
    const sched = scheduler();
    const elu = performance.eventLoopUtilization(this.startElu);
    const usedHeap = v8.getHeapStatistics().used_heap_size;
    const gcs = (this.profiler.stop() as unknown as { statistics: GcStatistic[] }).statistics;
    let freed = 0;
    let gcMicros = 0;
    for (const gc of gcs) {
      freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
      gcMicros += gc.cost;
    }
    return {
      role: this.role,
      threadId,
      cpuMs: (sched.cpuNs - this.startSched.cpuNs) / 1e6,
      runQueueMs: (sched.waitNs - this.startSched.waitNs) / 1e6,
      wakeups: sched.voluntarySwitches - this.startSched.voluntarySwitches,
      kernelShare: share(sched.systemTicks - this.startSched.systemTicks, sched.userTicks - this.startSched.userTicks),
      heapAllocatedBytes: usedHeap - this.startUsedHeap + freed,
      gcCount: gcs.length,
      gcMs: gcMicros / 1000,
      eventLoopUtilization: elu.utilization,
    };
  }
}

type ProbeRequest = { type: 'open' | 'close'; id: number };
type ProbeReply = { id: number; figures?: ThreadFigures };

let installed = false;

/** Makes this thread answer the main thread's window requests (once per thread). */
export function installThreadProbe(role: string): void {
  if (installed) return;
  installed = true;
  const channel = new BroadcastChannel(CHANNEL);
  let window: ThreadWindow | undefined;
  channel.onmessage = (event: unknown) => {
    // Other probes' replies travel on the same channel: answer requests only.
    const request = (event as { data: Partial<ProbeRequest> }).data;
    if (request.id === undefined) return;
    if (request.type === 'open') {
      window = ThreadWindow.open(role);
      channel.postMessage({ id: request.id } satisfies ProbeReply);
    } else if (request.type === 'close') {
      const figures = window?.close();
      window = undefined;
      channel.postMessage({ id: request.id, ...(figures ? { figures } : {}) } satisfies ProbeReply);
    }
  };
  // The probe must never keep a thread alive.
  channel.unref();
}

let nextId = 1;

/**
 * Opens or closes the window in every probed thread and waits for `expected`
 * answers (or timeoutMs); closing returns each thread's figures.
 */
export async function requestThreadWindows(type: 'open' | 'close', expected: number, timeoutMs = 3000): Promise<ThreadFigures[]> {
  const channel = new BroadcastChannel(CHANNEL);
  const id = nextId++;
  const figures: ThreadFigures[] = [];
  let answers = 0;
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      channel.onmessage = (event: unknown) => {
        const reply = (event as { data: ProbeReply }).data;
        if (reply.id !== id) return;
        if (reply.figures) figures.push(reply.figures);
        if (++answers >= expected) {
          clearTimeout(timer);
          resolve();
        }
      };
      channel.postMessage({ type, id } satisfies ProbeRequest);
    });
  } finally {
    channel.close();
  }
  if (answers < expected) throw new Error(`only ${answers} of ${expected} probed threads answered the ${type} request within ${timeoutMs} ms`);
  return figures;
}
