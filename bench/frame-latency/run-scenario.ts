/**
 * Runs one scenario in a child process (scenario-child.ts) against the shared
 * loopback server, then counts at the far end: every frame the sources made
 * must have reached the server, whatever the client says it sent.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Distribution } from '../lib/distribution.js';
import type { ServeProcess } from '../lib/serve-process.js';
import type { FloorSpec } from './floor-child.js';
import { FRAME_MS, type Condition, type ScenarioMeasurement, type ScenarioResult, type ScenarioSpec } from './scenario.js';

const CHILD = new URL('./scenario-child.js', import.meta.url);
const FLOOR_CHILD = new URL('./floor-child.js', import.meta.url);
/** Beyond the audio a child plays, how long it may take to start and finish. */
const CHILD_OVERHEAD_BOUND_MS = 60_000;
/** How long the server may take to log the last sessions closed after the child exits. */
const SESSION_LOG_WAIT_MS = 5000;

export type ScenarioSettings = Omit<ScenarioSpec, 'serverUrl' | 'resultFile'>;

/**
 * Runs a child script with one JSON argument; resolves when it exits 0, else
 * rejects with its stderr. A child still running after timeoutMs is killed:
 * a hung run fails its cell, never the whole suite.
 */
async function runChild(script: URL, spec: object, what: string, timeoutMs: number): Promise<void> {
  const child = spawn(process.execPath, [script.pathname, JSON.stringify(spec)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  if (timedOut) throw new Error(`${what} did not finish within ${timeoutMs} ms and was killed`);
  if (code !== 0) throw new Error(`${what} failed (exit ${code}): ${stderr.join('').trim().slice(-2000)}`);
}

/** The bare hand-off between two threads under `condition` (floor-child.ts). */
export async function runFloor(condition: Condition, samples: number): Promise<Distribution> {
  const dir = await mkdtemp(join(tmpdir(), 'earshot-bench-'));
  try {
    const spec: FloorSpec = { condition, samples, resultFile: join(dir, 'floor.json') };
    await runChild(FLOOR_CHILD, spec, `the hand-off floor (${condition})`, samples * FRAME_MS + CHILD_OVERHEAD_BOUND_MS);
    return JSON.parse(await readFile(spec.resultFile, 'utf8')) as Distribution;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runScenario(settings: ScenarioSettings, server: ServeProcess): Promise<ScenarioResult> {
  const dir = await mkdtemp(join(tmpdir(), 'earshot-bench-'));
  const spec: ScenarioSpec = { ...settings, serverUrl: server.url, resultFile: join(dir, 'result.json') };
  const sessionsBefore = server.closed.length;
  const serverCpuBefore = server.cpuMs();
  const startedAt = performance.now();
  try {
    const audioMs = spec.warmupMs + spec.windowMs + spec.tailMs;
    // The child bounds its own start and finish; this is the backstop.
    await runChild(CHILD, spec, `scenario ${spec.variant} / ${spec.condition} / ${spec.pipelines} pipelines`, 2 * audioMs + 3 * CHILD_OVERHEAD_BOUND_MS);
    const measurement = JSON.parse(await readFile(spec.resultFile, 'utf8')) as ScenarioMeasurement;
    const sessions = await server.closedSince(sessionsBefore, spec.pipelines, SESSION_LOG_WAIT_MS);
    const framesReceivedByServer = sessions.reduce((total, s) => total + Math.round(s.audioMs / FRAME_MS), 0);
    const framesExpected = (spec.pipelines * measurement.sourceDurationMs) / FRAME_MS;
    const wallMs = performance.now() - startedAt;
    // Frames the server never got; replays after a reconnect could hide some, so the client's own count of losses is a floor.
    const { framesMissing, droppedUnsent, ringDropped } = measurement.client;
    const framesLost = Math.max(framesExpected - framesReceivedByServer, framesMissing + droppedUnsent + ringDropped, 0);
    return {
      ...measurement,
      framesExpected,
      serverSessions: sessions.length,
      framesReceivedByServer,
      framesLost,
      serverCpuPercentOfCore: ((server.cpuMs() - serverCpuBefore) / wallMs) * 100,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
