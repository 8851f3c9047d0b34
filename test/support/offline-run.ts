/**
 * The whole product, offline, on real human speech: the LibriVox clips are
 * played into a private PulseAudio null sink; `earshot run` captures its
 * monitor and streams through the v3 client to `earshot serve --engine local`
 * (pocketsphinx); the finals land in a JSONL file. Measures the word error
 * rate through earshot against pocketsphinx decoding the same files directly,
 * and the latency from the end of each clip's speech to its last final.
 * Shared by the end-to-end test (which asserts) and `npm run bench` (which reports).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import { runEarshot, until, type Earshot } from './child.js';
import { librivoxClips, readPcm } from './librivox.js';
import { concatPcm, silence } from './pcm.js';
import { decodeFileDirect } from './pocketsphinx-direct.js';
import { PrivatePulse } from './pulse.js';
import { speechSpan } from './speech-span.js';
import { writeWav } from './wav.js';
import { pooledWordErrorRate, wordErrorRate } from './wer.js';

const RATE = 16000;
const LEAD_MS = 500;
/** Silence after each clip: pocketsphinx ends an utterance about 0.6 s after speech stops. */
const GAP_MS = 2500;
const SINK = 'earshot_offline';

export interface OfflineRun {
  clips: number;
  finals: TranscriptEvent[];
  /** `earshot run`'s exit code after SIGTERM. */
  exitCode: number | null;
  /** Pooled over the clips. */
  earshotWer: number;
  directWer: number;
  /** Per clip: from the end of its speech leaving the speaker to its last final arriving (NaN: no final). */
  latenciesMs: number[];
}

export async function runOfflineLibrivox(): Promise<OfflineRun> {
  const pulse = await PrivatePulse.start([{ name: SINK }]);
  const dir = await mkdtemp(join(tmpdir(), 'earshot-offline-'));
  let serve: Earshot | undefined;
  let earshot: Earshot | undefined;
  try {
    serve = runEarshot(['serve', '--engine', 'local', '--port', '0']);
    const url = (await serve.waitFor(/listening on (\S+)/, 30000, 'stdout'))[1] as string;
    const clips = librivoxClips();
    const audio = await Promise.all(clips.map((c) => readPcm(c.wavPath)));

    // One playlist: a lead-in, then each clip followed by silence. Where each clip's speech starts and ends, in playlist time.
    const parts: Int16Array[] = [silence(LEAD_MS, RATE)];
    const speechStartsMs: number[] = [];
    const speechEndsMs: number[] = [];
    let offsetMs = LEAD_MS;
    for (const samples of audio) {
      const span = speechSpan(samples, RATE);
      speechStartsMs.push(offsetMs + span.start_ms);
      speechEndsMs.push(offsetMs + span.end_ms);
      parts.push(samples, silence(GAP_MS, RATE));
      offsetMs += (samples.length * 1000) / RATE + GAP_MS;
    }
    const playlist = join(dir, 'librivox.wav');
    await writeWav(playlist, concatPcm(...parts), RATE, 1);

    const pipelineFile = join(dir, 'offline.yaml');
    await writeFile(
      pipelineFile,
      [
        'version: 1',
        'service: { http: { port: 0 } }',
        'pipelines:',
        '  system:',
        `    source: { type: portaudio, device: "${SINK}.monitor" }`,
        `    transcriber: { type: assemblyai, api_key: "\${KEY}", url: "${url}" }`,
        '    sinks:',
        '      - { type: file, path: "out/transcript.jsonl", format: jsonl }',
        '',
      ].join('\n'),
    );
    const run = runEarshot(['run', pipelineFile], { ...pulse.env, KEY: 'offline-test-key' });
    earshot = run;
    const metricsUrl = (await run.waitFor(/"url":"(http:\/\/[^"]+)"/, 30000))[1] as string;
    await until(() => run.stderr().includes('transcriber session started'), 30000, 'a session');
    await waitForCapture(`${metricsUrl}/metrics`);

    const playStartedAt = Date.now();
    await pulse.play(playlist, SINK);
    await new Promise((r) => setTimeout(r, 1000));
    run.child.kill('SIGTERM');
    const exitCode = await run.exited(60000);

    const finals = (await readFile(join(dir, 'out', 'transcript.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as TranscriptEvent)
      .filter((e) => e.final);

    // Finals are on the pipeline's clock, which started before the playlist: the first word marks the first clip's speech.
    const playlistOffsetMs = (finals[0]?.start_ms ?? 0) - (speechStartsMs[0] as number);
    const clipOf = (event: TranscriptEvent): number => {
      const playlistMs = event.start_ms - playlistOffsetMs;
      const next = speechStartsMs.findIndex((start) => start > playlistMs + 500);
      return Math.max(0, (next === -1 ? clips.length : next) - 1);
    };
    const hypotheses = clips.map(() => [] as string[]);
    for (const event of finals) hypotheses[clipOf(event)]?.push(event.text);
    const viaEarshot = clips.map((clip, i) => wordErrorRate(clip.reference, hypotheses[i]!.join(' ')));
    const direct = await Promise.all(clips.map(async (clip) => wordErrorRate(clip.reference, await decodeFileDirect(clip.wavPath))));

    const latenciesMs = clips.map((_, i) => {
      const last = finals.filter((e) => clipOf(e) === i).pop();
      return last ? Date.parse(last.received_at) - (playStartedAt + (speechEndsMs[i] as number)) : NaN;
    });
    return {
      clips: clips.length,
      finals,
      exitCode,
      earshotWer: pooledWordErrorRate(viaEarshot).wer,
      directWer: pooledWordErrorRate(direct).wer,
      latenciesMs,
    };
  } finally {
    earshot?.child.kill('SIGKILL');
    serve?.child.kill('SIGTERM');
    await serve?.exited(10000).catch(() => undefined);
    await pulse.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Plays only once the capture delivers audio (PulseAudio takes a moment to start a stream). */
async function waitForCapture(metricsUrl: string): Promise<void> {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    const text = await (await fetch(metricsUrl)).text();
    const frames = Number(/earshot_capture_frames_total\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    if (frames > 5) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('capture delivered no audio within 30 s');
}
