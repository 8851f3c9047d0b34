/**
 * `earshot run` as a user runs it: the real bin in a child process, its
 * stdout and its JSON log lines collected, its health and metrics scraped
 * over HTTP, signals sent to it. Plus the tone-coded audio the script engine
 * of an in-process `earshot serve` turns into known turns.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStreamingServer, type SessionClosedInfo, type SessionInfo, type StreamingServer } from '../../src/serve/server.js';
import { createScriptEngine } from '../../src/serve/engines/script.js';
import { AUDIO, SCRIPT } from '../serve/helpers.js';
import { writeWav } from '../support/wav.js';

export const EARSHOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/earshot.cjs');

export type LogRecord = Record<string, unknown> & { level: number; msg: string };

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class EarshotProcess {
  stdout = '';
  stderr = '';
  readonly logs: LogRecord[] = [];
  readonly exited: Promise<Exit>;
  private partialLine = '';

  private constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (text: string) => (this.stdout += text));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => this.onStderr(text));
    this.exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
  }

  static run(file: string, options: { cwd: string; env?: Record<string, string> }): EarshotProcess {
    const child = spawn(process.execPath, [EARSHOT, 'run', file], {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new EarshotProcess(child);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** The first log line that matches, waiting for it. */
  async waitForLog(predicate: (record: LogRecord) => boolean, what: string, timeoutMs = 15000): Promise<LogRecord> {
    let found: LogRecord | undefined;
    await waitFor(() => (found = this.logs.find(predicate)) !== undefined, what, timeoutMs, () => this.exitedEarly());
    return found as LogRecord;
  }

  /** Where /healthz and /metrics are served (from the log line that announces them). */
  async httpUrl(): Promise<string> {
    const line = await this.waitForLog((r) => typeof r.url === 'string' && r.msg.startsWith('health and metrics'), 'the HTTP endpoint');
    return line.url as string;
  }

  /** Resolves with the exit, or fails after timeoutMs (killing the process). */
  async exitWithin(timeoutMs: number): Promise<Exit> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const exit = await this.exited;
    clearTimeout(timer);
    if (exit.signal === 'SIGKILL') throw new Error(`earshot run did not exit within ${timeoutMs} ms; stderr:\n${this.stderr.slice(-3000)}`);
    return exit;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private exitedEarly(): string | undefined {
    return this.child.exitCode !== null ? `earshot run exited with ${this.child.exitCode}; stderr:\n${this.stderr.slice(-3000)}` : undefined;
  }

  private onStderr(text: string): void {
    this.stderr += text;
    const lines = (this.partialLine + text).split('\n');
    this.partialLine = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      this.logs.push(JSON.parse(line) as LogRecord);
    }
  }
}

/** Polls until `predicate` holds; `abort` may explain why waiting is pointless (the process died). */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 15000, abort?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    const reason = abort?.();
    if (reason !== undefined) throw new Error(`while waiting for ${what}: ${reason}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface Health {
  status: string;
  pipelines: Record<string, { state: string; label?: string; started_at: string; transcriber?: string; session_id?: string; capture?: string; error?: string }>;
}

export async function fetchText(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text() };
}

export async function fetchHealth(base: string): Promise<Health & { httpStatus: number }> {
  const { status, text } = await fetchText(`${base}/healthz`);
  return { ...(JSON.parse(text) as Health), httpStatus: status };
}

/** Prometheus text as `name{label="v",...}` -> value (labels in the order the exposition gives them). */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

/** One sample, its labels given in any order. */
export function sample(metrics: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels);
  for (const [key, value] of metrics) {
    const match = /^([^{]+)(?:\{(.*)\})?$/.exec(key);
    if (match?.[1] !== name) continue;
    const have = new Map([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (wanted.length === have.size && wanted.every(([k, v]) => have.get(k) === v)) return value;
  }
  return undefined;
}

export async function scrape(base: string): Promise<Map<string, number>> {
  return parseMetrics((await fetchText(`${base}/metrics`)).text);
}

/** A script-engine server that accepts only `apiKey`, recording every session it opens and closes. */
export class ScriptServer {
  readonly opened: SessionInfo[] = [];
  readonly closed: SessionClosedInfo[] = [];

  private constructor(readonly server: StreamingServer) {
    server.on('session-opened', (info) => this.opened.push(info));
    server.on('session-closed', (info) => this.closed.push(info));
  }

  static async start(apiKey: string): Promise<ScriptServer> {
    return new ScriptServer(await startStreamingServer({ engine: createScriptEngine(SCRIPT), apiKeys: [apiKey], closeTimeoutMs: 1000 }));
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.server.port}/v3/ws`;
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/** The script's turns as tones with silences between (4 s), as a WAV file a file source can loop. */
export async function writeToneWav(path: string): Promise<void> {
  await writeWav(path, AUDIO.samples, AUDIO.sampleRate, 1);
}

export const SCRIPT_TEXTS = SCRIPT.turns.map((turn) => turn.text);
