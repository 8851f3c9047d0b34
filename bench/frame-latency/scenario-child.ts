/**
 * One scenario in a process of its own:
 *   node dist/bench/frame-latency/scenario-child.js '<ScenarioSpec as JSON>'
 * writes a ScenarioMeasurement to spec.resultFile and exits 0, or exits 1
 * with the reason on stderr.
 *
 * Timeline: every source plays warmup + window + tail of audio. Once every
 * session is open and the warmup is over, the measurement window opens in
 * every thread at once; frames captured before it are left out of the
 * latency figures (the first ones wait for their session to open).
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { monotonicMs } from '../../src/capture/clock.js';
import { distribution } from '../lib/distribution.js';
import { LoopStallMonitor } from '../lib/loop-stall.js';
import { machineCpuTicks } from '../lib/proc.js';
import { requestThreadWindows, ThreadWindow, type ThreadFigures } from '../lib/thread-probe.js';
import { startAsBuilt } from './as-built.js';
import { startMessageDesign } from './message-designs.js';
import { FRAME_MS, type RoleFigures, type ScenarioMeasurement, type ScenarioSpec } from './scenario.js';

/** The window closes this long before the sources end at the latest. */
const END_MARGIN_MS = 250;
/** Beyond the audio's own length, how long starting and finishing may take. */
const OVERHEAD_BOUND_MS = 60000;

function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - monotonicMs())));
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

function byRole(threads: ThreadFigures[], windowMs: number, framesInWindow: number): Record<string, RoleFigures> {
  const roles: Record<string, RoleFigures> = {};
  for (const t of threads) {
    const r = (roles[t.role] ??= { threads: 0, cpuMs: 0, percentOfCore: 0, runQueueMs: 0, wakeupsPerFrame: 0, kernelShare: 0, heapBytesPerFrame: 0, gcCount: 0, eventLoopUtilization: 0 });
    r.threads++;
    r.cpuMs += t.cpuMs;
    r.runQueueMs += t.runQueueMs;
    r.wakeupsPerFrame += t.wakeups / framesInWindow;
    // Weighted by CPU time below.
    r.kernelShare += t.kernelShare * t.cpuMs;
    r.heapBytesPerFrame += t.heapAllocatedBytes / framesInWindow;
    r.gcCount += t.gcCount;
    // Averaged over the role's threads below.
    r.eventLoopUtilization += t.eventLoopUtilization;
  }
  for (const r of Object.values(roles)) {
    r.percentOfCore = (r.cpuMs / windowMs) * 100;
    r.kernelShare = r.cpuMs > 0 ? r.kernelShare / r.cpuMs : 0;
    r.eventLoopUtilization /= r.threads;
  }
  return roles;
}

export async function measureScenario(spec: ScenarioSpec): Promise<ScenarioMeasurement> {
  // Whole frames: every source then plays exactly sourceDurationMs / FRAME_MS of them.
  const sourceDurationMs = Math.ceil((spec.warmupMs + spec.windowMs + spec.tailMs) / FRAME_MS) * FRAME_MS;
  const warnings: string[] = [];
  const loopStall = new LoopStallMonitor();
  const startedAt = monotonicMs();
  const run = spec.variant === 'as-built' ? startAsBuilt(spec, sourceDurationMs, warnings) : startMessageDesign(spec, sourceDurationMs);
  await within(run.streaming, OVERHEAD_BOUND_MS, 'opening every session');
  const startupMs = monotonicMs() - startedAt;

  await sleepUntil(startedAt + spec.warmupMs);
  await requestThreadWindows('open', run.probedThreads);
  const main = ThreadWindow.open('main');
  const cpuAtOpen = process.cpuUsage();
  const machineAtOpen = machineCpuTicks();
  const openedAt = monotonicMs();
  const sourcesEndAt = startedAt + sourceDurationMs - END_MARGIN_MS;
  if (openedAt + spec.windowMs / 2 > sourcesEndAt) warnings.push(`starting took so long that the window was cut short (opened ${Math.round(openedAt - startedAt)} ms in)`);
  await sleepUntil(Math.min(openedAt + spec.windowMs, sourcesEndAt));
  const cpu = process.cpuUsage(cpuAtOpen);
  const machine = machineCpuTicks();
  const windowMs = monotonicMs() - openedAt;
  const threads = [main.close(), ...(await requestThreadWindows('close', run.probedThreads))];
  const memory = process.memoryUsage();

  const outcomes = await within(run.finished, sourceDurationMs + OVERHEAD_BOUND_MS, 'running every pipeline to its end');
  const mainLoopDelayMaxMs = loopStall.stop();

  const warmupFrames = Math.ceil((openedAt - startedAt) / FRAME_MS);
  const latencies = outcomes.flatMap((o) => o.latenciesMs.slice(warmupFrames));
  const framesInWindow = (spec.pipelines * windowMs) / FRAME_MS;
  const processMs = (cpu.user + cpu.system) / 1000;
  const busyCores = ((machine.busy - machineAtOpen.busy) / (machine.total - machineAtOpen.total)) * availableParallelism();
  const sum = (pick: (o: (typeof outcomes)[number]) => number): number => outcomes.reduce((total, o) => total + pick(o), 0);
  return {
    spec,
    sourceDurationMs,
    startupMs,
    warmupFrames,
    windowMs,
    framesInWindow,
    latencyMs: distribution(latencies),
    client: {
      framesSent: sum((o) => o.framesSent),
      framesMissing: sum((o) => o.framesMissing),
      droppedUnsent: sum((o) => o.droppedUnsent),
      ringDropped: sum((o) => o.ringDropped),
      sessions: sum((o) => o.sessions),
      reconnects: sum((o) => o.reconnects),
    },
    cpu: {
      processMs,
      percentOfCore: (processMs / windowMs) * 100,
      perStreamPercentOfCore: (processMs / windowMs) * 100 / spec.pipelines,
    },
    heapBytesPerFrame: threads.reduce((total, t) => total + t.heapAllocatedBytes, 0) / framesInWindow,
    roles: byRole(threads, windowMs, framesInWindow),
    memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, externalBytes: memory.external, arrayBuffersBytes: memory.arrayBuffers },
    machineCores: { busy: busyCores, process: processMs / windowMs, others: Math.max(0, busyCores - processMs / windowMs) },
    mainLoopDelayMaxMs,
    threads,
    warnings,
  };
}

const spec = JSON.parse(process.argv[2] ?? '{}') as ScenarioSpec;
try {
  const measurement = await measureScenario(spec);
  await writeFile(spec.resultFile, JSON.stringify(measurement));
  process.exit(0);
} catch (error) {
  process.stderr.write(`scenario ${spec.variant}/${spec.condition}/${spec.pipelines}: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
}
