/**
 * Cost and scale: earshot as built with 1, 2, 4... pipelines in one process,
 * each a synthetic source at real-time pace streaming to the loopback server,
 * until a step loses a frame (or the steps run out). Each step is a fresh
 * process; CPU and memory are read over the same window as in the latency runs.
 */
import type { ServeProcess } from '../lib/serve-process.js';
import { runScenario } from '../frame-latency/run-scenario.js';
import { FRAME_MS, type ScenarioResult } from '../frame-latency/scenario.js';

/** Pipelines start one after another: each step's warm-up grows by this much per pipeline. */
const STARTUP_ALLOWANCE_MS_PER_PIPELINE = 20;

export interface ScaleOptions {
  steps: readonly number[];
  warmupMs: number;
  windowMs: number;
  tailMs: number;
}

export interface ScaleStep {
  pipelines: number;
  /** The whole process, in % of one core. */
  processCpuPercent: number;
  /** The audio host and transport threads only, per pipeline, in % of one core. */
  captureTransportPercentPerStream: number;
  rssBytes: number;
  framesLost: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  serverCpuPercent: number;
  result: ScenarioResult;
}

export interface ScaleSection {
  options: ScaleOptions;
  steps: ScaleStep[];
  /** The step that lost frames or failed, which ended the climb. */
  stoppedAt?: { pipelines: number; reason: string };
  /** The most pipelines run with zero frames lost. */
  maxPipelinesWithoutLoss: number;
  /** Least-squares slopes over the loss-free steps: what one more pipeline adds. */
  rssBytesPerPipeline: number;
  processCpuPercentPerPipeline: number;
}

/** A failed child's message ends with its stack; the table needs only what happened. */
function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** Slope of the least-squares line through the points. */
export function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

function summarize(result: ScenarioResult): ScaleStep {
  const n = result.spec.pipelines;
  const pathMs = (result.roles['audio-host']?.cpuMs ?? 0) + (result.roles.transport?.cpuMs ?? 0);
  return {
    pipelines: n,
    processCpuPercent: result.cpu.percentOfCore,
    captureTransportPercentPerStream: (pathMs / result.windowMs) * 100 / n,
    rssBytes: result.memory.rssBytes,
    framesLost: result.framesLost,
    latencyP99Ms: result.latencyMs.p99,
    latencyMaxMs: result.latencyMs.max,
    serverCpuPercent: result.serverCpuPercentOfCore,
    result,
  };
}

export async function runScaleSection(options: ScaleOptions, server: ServeProcess, progress: (line: string) => void): Promise<ScaleSection> {
  const steps: ScaleStep[] = [];
  let stoppedAt: ScaleSection['stoppedAt'];
  for (const pipelines of options.steps) {
    progress(`scale: ${pipelines} pipeline${pipelines === 1 ? '' : 's'}`);
    try {
      const { windowMs, tailMs } = options;
      // Whole frames, so every source plays a whole number of them.
      const warmupMs = Math.ceil((options.warmupMs + pipelines * STARTUP_ALLOWANCE_MS_PER_PIPELINE) / FRAME_MS) * FRAME_MS;
      const step = summarize(await runScenario({ variant: 'as-built', condition: 'idle', pipelines, warmupMs, windowMs, tailMs }, server));
      steps.push(step);
      if (step.framesLost > 0) {
        stoppedAt = { pipelines, reason: `${step.framesLost} frames lost` };
        break;
      }
    } catch (error) {
      stoppedAt = { pipelines, reason: firstLine((error as Error).message) };
      break;
    }
  }
  const clean = steps.filter((s) => s.framesLost === 0);
  return {
    options,
    steps,
    ...(stoppedAt ? { stoppedAt } : {}),
    maxPipelinesWithoutLoss: Math.max(0, ...clean.map((s) => s.pipelines)),
    rssBytesPerPipeline: slope(clean.map((s) => ({ x: s.pipelines, y: s.rssBytes }))),
    processCpuPercentPerPipeline: slope(clean.map((s) => ({ x: s.pipelines, y: s.processCpuPercent }))),
  };
}
