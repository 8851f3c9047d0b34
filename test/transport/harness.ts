/**
 * The real pipeline against a real `earshot serve` on loopback, for the
 * transport's done-when tests: tone-coded audio written to a WAV file and
 * played by a `file` source at real-time pace, the real transport worker, a
 * JSONL file sink, and a script-engine server whose sessions are watched
 * (when each began, when it first heard audio, how it ended).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPipelineFile } from '../../src/config/load.js';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import { SecretScrubber } from '../../src/service/logger.js';
import { Service } from '../../src/service/service.js';
import type { EngineFactory } from '../../src/serve/engine.js';
import { DEFAULT_SCRIPT_SETTINGS, createScriptEngine, type Script } from '../../src/serve/engines/script.js';
import { startStreamingServer, type SessionClosedInfo, type StreamingServer, type StreamingServerOptions } from '../../src/serve/server.js';
import type { StreamStats } from '../../src/transport/stream.js';
import { captureLogs } from '../support/log-capture.js';
import { buildToneAudio, type ToneAudio, type ToneAudioOptions } from '../support/tone-audio.js';
import { writeWav } from '../support/wav.js';

export const RATE = 16000;
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];

/** n turns, each with its own tone and its own text ("Turn 7 hotel india."), so every final can be told apart. */
export function toneScript(n: number): Script {
  const turns = Array.from({ length: n }, (_, i) => ({
    text: `Turn ${i} ${WORDS[i % WORDS.length] ?? ''} ${WORDS[(i + 5) % WORDS.length] ?? ''}.`,
    tone_hz: 400 + i * 90,
  }));
  return { turns, settings: { ...DEFAULT_SCRIPT_SETTINGS } };
}

/** Audio whose turns, played in script order, last about `seconds` in all. */
export function toneAudioFor(script: Script, options: ToneAudioOptions = {}): ToneAudio {
  return buildToneAudio(script, { sampleRate: RATE, gapMs: 1000, ...options });
}

/** One server session as the test saw it, times from Date.now(). */
export interface WatchedSession {
  index: number;
  id?: string;
  beganAt?: number;
  firstAudioAt?: number;
  /** Samples in each audio message, in order. */
  chunkSamples: number[];
  sampleRate: number;
  closedAt?: number;
  closed?: SessionClosedInfo;
}

export interface WatchedServer {
  server: StreamingServer;
  sessions: WatchedSession[];
  close(): Promise<void>;
}

/** A script-engine server whose engines report when their session first heard audio. */
export async function startWatchedServer(script: Script, options: Partial<StreamingServerOptions> = {}): Promise<WatchedServer> {
  const sessions: WatchedSession[] = [];
  const scripted = createScriptEngine(script);
  // Sessions create their engine in acceptance order, so the k-th engine is session k.
  const engine: EngineFactory = (factoryOptions) => {
    const watched: WatchedSession = { index: sessions.length, chunkSamples: [], sampleRate: factoryOptions.sampleRate };
    sessions.push(watched);
    const inner = scripted(factoryOptions);
    return {
      pushAudio(samples) {
        watched.firstAudioAt ??= Date.now();
        watched.chunkSamples.push(samples.length);
        inner.pushAudio(samples);
      },
      forceEndpoint: () => inner.forceEndpoint(),
      finish: () => inner.finish(),
      close: () => inner.close(),
      onTurn: (listener) => inner.onTurn(listener),
      onError: (listener) => inner.onError(listener),
    };
  };
  const server = await startStreamingServer({ engine, closeTimeoutMs: 1000, ...options });
  server.on('session-opened', (info) => {
    const watched = sessions[info.index];
    if (watched) {
      watched.id = info.id;
      watched.beganAt = Date.now();
    }
  });
  server.on('session-closed', (info) => {
    const watched = sessions[info.index];
    if (watched) {
      watched.closedAt = Date.now();
      watched.closed = info;
    }
  });
  return { server, sessions, close: () => server.close() };
}

export interface PipelineResult {
  events: TranscriptEvent[];
  stats: StreamStats | undefined;
  failure: string | undefined;
  state: string;
}

export interface PipelineRun extends PipelineResult {
  exitCode: number;
  logs: Record<string, unknown>[];
  wallMs: number;
  pipelines: Record<string, PipelineResult>;
}

export interface PipelineSpec {
  name: string;
  url: string;
  /** YAML lines for the transcriber block, besides type, url and the key. */
  transcriber?: string;
  /** Default test-key; null: none (give a token in `transcriber`). */
  apiKey?: string | null;
  /** Text added inside this pipeline's source mapping, e.g. ", frame_ms: 20" (after the run's sourceExtra). */
  source?: string;
}

export interface RunOptions {
  dir: string;
  audio: ToneAudio;
  /** One pipeline (named meeting) on this URL, or several below. */
  url?: string;
  transcriber?: string;
  pipelines?: PipelineSpec[];
  /** Text added inside the source's flow mapping, e.g. ", frame_ms: 20". */
  sourceExtra?: string;
  /** Lines added under `service:`. */
  service?: string;
  /** Sinks added to every pipeline's list (flow mappings, e.g. `{ type: wav, path: "rec.wav" }`). */
  sinks?: string[];
  /** Stop (like SIGTERM) this long after the start. */
  stopAfterMs?: number;
  /** Called once the service runs, for tests that act on it meanwhile. */
  during?: (service: Service) => void | Promise<void>;
}

const indent = (text: string | undefined, spaces: number): string =>
  (text ?? '').split('\n').filter((line) => line.trim() !== '').map((line) => `${' '.repeat(spaces)}${line}`).join('\n');

/** Writes the audio and the pipeline file; returns the file's path and the pipelines in it. */
export async function writePipelineFiles(options: RunOptions): Promise<{ yaml: string; specs: PipelineSpec[] }> {
  await writeWav(join(options.dir, 'audio.wav'), options.audio.samples, options.audio.sampleRate, 1);
  const specs = options.pipelines ?? [{ name: 'meeting', url: options.url ?? '', ...(options.transcriber !== undefined ? { transcriber: options.transcriber } : {}) }];
  const blocks = specs.map((spec) => `  ${spec.name}:
    source: { type: file, path: audio.wav, realtime: true${spec.source?.includes('frame_ms') ? '' : ', frame_ms: 50'}${options.sourceExtra ?? ''}${spec.source ?? ''} }
    transcriber:
      type: assemblyai
${spec.apiKey === null ? '' : `      api_key: ${spec.apiKey ?? 'test-key'}\n`}      url: "${spec.url}"
${indent(spec.transcriber, 6)}
    sinks:
      - { type: file, path: "transcript-{pipeline}.jsonl", format: jsonl }${(options.sinks ?? []).map((sink) => `\n      - ${sink}`).join('')}`);
  const yaml = join(options.dir, 'pipeline.yaml');
  await writeFile(yaml, `version: 1
service:
  log: { level: debug }
${indent(options.service, 2)}
pipelines:
${blocks.join('\n')}
`);
  return { yaml, specs };
}

/** The transcript a pipeline wrote. */
export async function readTranscript(dir: string, pipeline = 'meeting'): Promise<TranscriptEvent[]> {
  const text = await readFile(join(dir, `transcript-${pipeline}.jsonl`), 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as TranscriptEvent);
}

/** Runs pipelines (file source -> transport worker -> JSONL file) in one Service in this process, to their end. */
export async function runPipeline(options: RunOptions): Promise<PipelineRun> {
  const { yaml, specs } = await writePipelineFiles(options);
  const loaded = await loadPipelineFile(yaml, { env: {} });
  const { logger, records } = captureLogs('debug');
  const service = new Service({ file: yaml, loaded, logger, secrets: new SecretScrubber() });
  const started = Date.now();
  const running = service.run();
  let stopTimer: NodeJS.Timeout | undefined;
  if (options.stopAfterMs !== undefined) stopTimer = setTimeout(() => void service.stop(), options.stopAfterMs);
  await options.during?.(service);
  const exitCode = await running;
  clearTimeout(stopTimer);
  const wallMs = Date.now() - started;
  const pipelines: Record<string, PipelineResult> = {};
  for (const spec of specs) {
    const runner = service.runners.find((r) => r.name === spec.name);
    pipelines[spec.name] = {
      events: await readTranscript(options.dir, spec.name),
      stats: runner?.transportStats,
      failure: runner?.failure,
      state: runner?.state ?? 'missing',
    };
  }
  const first = pipelines[specs[0]?.name ?? ''] as PipelineResult;
  return { exitCode, logs: records, wallMs, pipelines, ...first };
}

/** Resolves once `condition` holds (polled), or rejects after timeoutMs naming what was awaited. */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function withTempDir<T>(prefix: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Expected final texts with their places in the pipeline's audio. */
export function expectedTurns(audio: ToneAudio): { text: string; start_ms: number; end_ms: number }[] {
  return audio.turns.map((turn) => ({ text: turn.text, start_ms: turn.start_ms, end_ms: turn.end_ms }));
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
