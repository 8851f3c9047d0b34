/**
 * `earshot serve` (script engine) in a child process on loopback: the v3
 * server the benchmarked pipelines stream to. It runs in its own process so
 * its work is not counted as the pipelines' cost, at a lower scheduling
 * priority: it stands for a service on other machines, and should not take a
 * CPU from the pipelines at the moment each frame wakes it. Every session it
 * closes is logged with the audio it received, which is how frames lost on
 * the way are counted at the far end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { processCpuMs } from './proc.js';

const BIN = new URL('../../../bin/earshot.cjs', import.meta.url);
const START_TIMEOUT_MS = 30000;
/** The server's nice level (0 is normal; higher yields the CPU to the pipelines). */
const SERVER_NICENESS = 10;
const STOP_TIMEOUT_MS = 7000;

export interface ClosedSession {
  audioMs: number;
  code: number;
}

export class ServeProcess {
  readonly closed: ClosedSession[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly dir: string,
  ) {
    createInterface({ input: child.stderr! }).on('line', (line) => this.onLogLine(line));
  }

  static async start(): Promise<ServeProcess> {
    const dir = await mkdtemp(join(tmpdir(), 'earshot-bench-serve-'));
    const script = join(dir, 'script.yaml');
    await writeFile(script, 'turns:\n  - text: benchmark audio\n');
    const child = spawn(process.execPath, [BIN.pathname, 'serve', '--port', '0', '--engine', 'script', '--script', script, '--log-level', 'info'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    setPriority(child.pid!, SERVER_NICENESS);
    const stderr: string[] = [];
    const keepStderr = (chunk: Buffer): number => stderr.push(chunk.toString());
    child.stderr.on('data', keepStderr);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`earshot serve did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
        createInterface({ input: child.stdout }).on('line', (line) => {
          const match = /listening on (\S+)/.exec(line);
          if (match?.[1]) {
            clearTimeout(timer);
            resolve(match[1]);
          }
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`earshot serve exited with ${code} before listening: ${stderr.join('').trim()}`));
        });
      });
      child.stderr.off('data', keepStderr);
      return new ServeProcess(child, url, dir);
    } catch (error) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** CPU the server process has used so far (all its threads). */
  cpuMs(): number {
    return processCpuMs(this.child.pid!);
  }

  /** Waits until `count` sessions have closed in all, or timeoutMs; returns the ones closed from index `from`. */
  async closedSince(from: number, count: number, timeoutMs: number): Promise<ClosedSession[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.closed.length < from + count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.closed.slice(from);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = once(this.child, 'exit');
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private onLogLine(line: string): void {
    let record: { msg?: string; audioMs?: number; code?: number };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      return;
    }
    if (record.msg === 'session closed') this.closed.push({ audioMs: record.audioMs ?? 0, code: record.code ?? 0 });
  }
}
