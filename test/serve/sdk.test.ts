/**
 * The official `assemblyai` SDK, an independent client, runs whole sessions
 * against `earshot serve` over wss:// (the SDK refuses anything else), in a
 * child process that trusts a throwaway certificate via NODE_EXTRA_CA_CERTS.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createScriptEngine, parseScript } from '../../src/serve/engines/script.js';
import { scriptWords } from '../../src/serve/engines/script-file.js';
import type { StreamingServer } from '../../src/serve/server.js';
import type { SessionClosedInfo } from '../../src/serve/session.js';
import { concatPcm, readWav, silence } from '../support/pcm.js';
import { buildToneAudio } from '../support/tone-audio.js';
import type { SdkSessionInput } from '../support/sdk-session.js';
import { makeSelfSignedCert, type SelfSignedCert } from '../support/tls-cert.js';
import { AUDIO, RATE, SCRIPT, closeServers, nextClosed, startServer } from './helpers.js';

type SdkEvent = Record<string, unknown> & { event: string };
interface Turn {
  turn_order: number;
  end_of_turn: boolean;
  turn_is_formatted: boolean;
  transcript: string;
  words: { text: string; word_is_final: boolean; speaker?: string }[];
  speaker_label?: string;
}

const CHILD = fileURLToPath(new URL('../support/sdk-session.js', import.meta.url));
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

describe('earshot serve with the official assemblyai SDK over wss://', function () {
  this.timeout(30000);
  let dir: string;
  let cert: SelfSignedCert;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'earshot-sdk-'));
    cert = makeSelfSignedCert(dir);
  });
  afterEach(closeServers);

  async function runSdk(server: StreamingServer, samples: Int16Array, options: Partial<SdkSessionInput>): Promise<{ events: SdkEvent[]; stderr: string }> {
    const pcmFile = join(dir, `audio-${Date.now()}.raw`);
    writeFileSync(pcmFile, Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength));
    const input: SdkSessionInput = {
      httpsBase: server.url.replace('wss://', 'https://').replace('/v3/ws', ''),
      apiKey: 'sdk-key',
      useToken: false,
      pcmFile,
      sampleRate: RATE,
      formatTurns: true,
      chunkMs: 50,
      speed: 3,
      ...options,
    };
    const child = spawn(process.execPath, [CHILD, JSON.stringify(input)], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: cert.certFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25000);
    const [exitCode] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    const events = stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as SdkEvent);
    expect(exitCode, `child failed: ${stderr}\n${stdout}`).to.equal(0);
    return { events, stderr };
  }

  const sdkTurns = (events: SdkEvent[]): Turn[] => events.filter((e) => e.event === 'turn').map((e) => e.turn as Turn);

  it('runs a session with an API key: Begin, partial and formatted final turns, Terminate, Termination, close 1000', async () => {
    const server = await startServer({ tls: { cert: cert.cert, key: cert.key }, apiKeys: ['sdk-key'] });
    expect(server.url).to.match(/^wss:\/\/127\.0\.0\.1:\d+\/v3\/ws$/);
    const closed = nextClosed(server);
    const { events, stderr } = await runSdk(server, AUDIO.samples, { formatTurns: true });

    expect(events.filter((e) => e.event === 'error' || e.event === 'fatal')).to.deep.equal([]);
    expect(stderr).to.not.include('retrying');
    const begin = events.find((e) => e.event === 'open')?.begin as { id: string };
    const info = await closed;
    expect(info).to.include({ id: begin.id, code: 1000, initiator: 'server', terminationSent: true });
    expect(info.params).to.deep.equal({ sample_rate: RATE, format_turns: true });

    const turns = sdkTurns(events);
    SCRIPT.turns.forEach((turn, order) => {
      const ofTurn = turns.filter((t) => t.turn_order === order);
      const partials = ofTurn.filter((t) => !t.end_of_turn);
      expect(partials.length, `partials of turn ${order}`).to.be.greaterThan(0);
      expect(partials.every((t) => t.words.at(-1)?.word_is_final === false)).to.equal(true);
      expect(ofTurn.filter((t) => t.end_of_turn).map((t) => [t.turn_is_formatted, t.transcript])).to.deep.equal([
        [false, scriptWords(turn.text).join(' ')],
        [true, turn.text],
      ]);
    });
    // The SDK hides Termination; the raw frames show it came last, and close() returned at once rather than timing out.
    const frames = events.filter((e) => e.event === 'frame').map((e) => JSON.parse(String(e.raw)) as { type: string });
    expect(frames.at(-1)).to.deep.include({ type: 'Termination', audio_duration_seconds: AUDIO.durationMs / 1000 });
    expect(events.find((e) => e.event === 'closed')?.closeMs).to.be.below(2000);
  });

  it('runs a session on real speech with a temporary token from GET /v3/token', async () => {
    const script = parseScript(`
turns:
  - text: "He was not an ill-disposed young man."
  - text: "He might even have been made amiable himself."
`);
    const server = await startServer({
      tls: { cert: cert.cert, key: cert.key },
      apiKeys: ['sdk-key'],
      engine: createScriptEngine(script),
    });
    const closed = nextClosed(server);
    const a = readWav(`${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0880.wav`);
    const b = readWav(`${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0930.wav`);
    const speech = concatPcm(a.samples, silence(1200, RATE), b.samples, silence(1000, RATE));
    const { events } = await runSdk(server, speech, { useToken: true, formatTurns: false, chunkMs: 100, speed: 4 });

    expect(events.map((e) => e.event)).to.include.members(['token', 'open', 'closed']);
    expect(events.filter((e) => e.event === 'error' || e.event === 'fatal')).to.deep.equal([]);
    const finals = sdkTurns(events).filter((t) => t.end_of_turn);
    expect(finals.map((t) => [t.turn_order, t.turn_is_formatted, t.transcript])).to.deep.equal([
      [0, false, 'he was not an ill-disposed young man'],
      [1, false, 'he might even have been made amiable himself'],
    ]);
    expect(sdkTurns(events).filter((t) => !t.end_of_turn).length).to.be.greaterThan(5);
    const info: SessionClosedInfo = await closed;
    expect(info).to.include({ code: 1000, terminationSent: true });
    expect(info.audioMsReceived).to.be.closeTo((speech.length / RATE) * 1000, 100);
  });
  it('labels speakers only when asked (speaker_labels), UNKNOWN for a turn without one, and revises an earlier turn as the SDK expects', async () => {
    const script = parseScript(`
turns:
  - { text: "First speaker here.", tone_hz: 500, speaker: A }
  - { text: "Nobody knows.", tone_hz: 800 }
  - { text: "Second speaker now.", tone_hz: 1100, speaker: B, revise: [{ turn: 1, speaker: B }] }
`);
    const audio = buildToneAudio(script);
    const server = await startServer({ tls: { cert: cert.cert, key: cert.key }, apiKeys: ['sdk-key'], engine: createScriptEngine(script) });

    const labelled = await runSdk(server, audio.samples, { formatTurns: true, speakerLabels: true, speed: 4 });
    const finals = sdkTurns(labelled.events).filter((t) => t.end_of_turn && t.turn_is_formatted);
    expect(finals.map((t) => [t.turn_order, t.speaker_label])).to.deep.equal([[0, 'A'], [1, 'UNKNOWN'], [2, 'B']]);
    for (const turn of finals) expect(turn.words.every((w) => w.speaker === turn.speaker_label)).to.equal(true);
    const revisions = labelled.events.filter((e) => e.event === 'speakerRevision').map((e) => e.revision as { revisions: { turn_order: number; speaker_label: string; words: { text: string; speaker: string }[] }[] });
    expect(revisions).to.have.length(1);
    expect(revisions[0]?.revisions.map((r) => [r.turn_order, r.speaker_label, r.words.map((w) => `${w.text}/${w.speaker}`).join(' ')])).to.deep.equal([[1, 'B', 'Nobody/B knows./B']]);

    const plain = await runSdk(server, audio.samples, { formatTurns: true, speed: 4 });
    expect(sdkTurns(plain.events).some((t) => 'speaker_label' in t || t.words.some((w) => 'speaker' in w))).to.equal(false);
    expect(plain.events.filter((e) => e.event === 'speakerRevision')).to.deep.equal([]);
  });
});
