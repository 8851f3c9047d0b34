/**
 * Speaker labels end to end, as a user runs them: the real `earshot run` in a
 * child process plays a tone-coded file into an in-process `earshot serve`
 * (script engine) opened with speaker_labels=true. The script gives turns to
 * speakers A and B, leaves one unattributed (UNKNOWN), and after the last turn
 * revises the unattributed one to B. The pipeline names A and B. Checked in
 * what the sinks wrote: jsonl turns with the names and the revision line with
 * the revised turn's seq; text lines with the names and no label for UNKNOWN;
 * a signed webhook delivery of the revision as its own event type and id; a
 * plugin without revise() getting every turn and nothing else; a plugin with
 * revise() getting the revision after the turns, in order.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpeakerRevisionEvent, TranscriptEvent } from '../../src/model/transcript.js';
import { createScriptEngine, parseScript } from '../../src/serve/engines/script.js';
import { startStreamingServer, type StreamingServer } from '../../src/serve/server.js';
import { TestReceiver } from '../sinks/webhook-receiver.js';
import { buildToneAudio } from '../support/tone-audio.js';
import { writeWav } from '../support/wav.js';
import { EarshotProcess } from './harness.js';

const API_KEY = 'speakers-test-key-0123456789';
const SCRIPT = parseScript(`
turns:
  - { text: "Hello from the first speaker.", tone_hz: 500, speaker: A }
  - { text: "The second one answers.", tone_hz: 800, speaker: B }
  - { text: "Nobody knows who said this.", tone_hz: 1100 }
  - { text: "That was me again.", tone_hz: 1400, speaker: A, revise: [{ turn: 2, speaker: B }] }
`);

type Line = (TranscriptEvent & { type?: undefined }) | SpeakerRevisionEvent;

const PLUGIN_WITHOUT_REVISE = `import { appendFileSync } from 'node:fs';
export default { create: (options) => ({ write(event) { appendFileSync(options.path, JSON.stringify({ kind: 'turn', seq: event.seq, speaker: event.speaker }) + '\\n'); } }) };
`;
const PLUGIN_WITH_REVISE = `import { appendFileSync } from 'node:fs';
const log = (path, record) => appendFileSync(path, JSON.stringify(record) + '\\n');
export default { create: (options) => ({
  write(event) { log(options.path, { kind: 'turn', seq: event.seq, speaker: event.speaker }); },
  revise(event) { log(options.path, { kind: 'revision', seqs: event.revisions.map((r) => r.seq), speakers: event.revisions.map((r) => r.speaker) }); },
}) };
`;

async function readLines<T>(path: string): Promise<T[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as T);
}

describe('earshot run: speaker labels, names and revisions end to end', function () {
  this.timeout(60000);
  let dir: string;
  let server: StreamingServer;
  let receiver: TestReceiver;
  let earshot: EarshotProcess;
  const secret = `whsec_${randomBytes(24).toString('base64')}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-speakers-'));
    server = await startStreamingServer({ engine: createScriptEngine(SCRIPT), apiKeys: [API_KEY], closeTimeoutMs: 1000 });
    receiver = new TestReceiver(secret);
    const port = await receiver.listen();
    await writeWav(join(dir, 'meeting.wav'), buildToneAudio(SCRIPT).samples, 16000, 1);
    await writeFile(join(dir, 'turns-only.mjs'), PLUGIN_WITHOUT_REVISE);
    await writeFile(join(dir, 'with-revise.mjs'), PLUGIN_WITH_REVISE);
    await writeFile(
      join(dir, 'pipeline.yaml'),
      `version: 1
service: { log: { format: json }, shutdown_timeout_ms: 10000 }
pipelines:
  call:
    label: them
    speakers: { A: Alice, B: Bob }
    source: { type: file, path: meeting.wav, realtime: false }
    transcriber:
      type: assemblyai
      api_key: \${EARSHOT_TEST_KEY}
      url: "ws://127.0.0.1:${server.port}/v3/ws"
      params: { format_turns: true, speaker_labels: true, speaker_labels_revision_interval_ms: 120000 }
    sinks:
      - { type: file, path: call.jsonl, format: jsonl }
      - { type: file, path: call.txt, format: text }
      - { type: webhook, url: "http://127.0.0.1:${port}/hook", secret: "${secret}" }
      - { type: plugin, module: ./turns-only.mjs, options: { path: turns-only.log } }
      - { type: plugin, module: ./with-revise.mjs, options: { path: with-revise.log } }
`,
    );
    earshot = EarshotProcess.run('pipeline.yaml', { cwd: dir, env: { EARSHOT_TEST_KEY: API_KEY } });
    await receiver.waitFor(() => receiver.processed.size >= SCRIPT.turns.length + 1, 'four finals and a revision at the webhook', 30000);
    earshot.signal('SIGTERM');
    expect((await earshot.exitWithin(20000)).code).to.equal(0);
  });

  after(async () => {
    earshot?.kill();
    await receiver?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes the turns with the speakers named, and the revision as its own jsonl line naming the revised seq', async () => {
    const lines = await readLines<Line>(join(dir, 'call.jsonl'));
    const turns = lines.filter((line): line is TranscriptEvent => line.type === undefined);
    expect(turns.map((t) => t.text)).to.deep.equal(SCRIPT.turns.map((t) => t.text));
    expect(turns.map((t) => t.speaker)).to.deep.equal(['Alice', 'Bob', 'UNKNOWN', 'Alice']);
    expect(turns.map((t) => t.speaker_label)).to.deep.equal(['A', 'B', undefined, 'A']);
    for (const turn of turns) for (const word of turn.words) expect(word.speaker).to.equal(turn.speaker);

    const revisions = lines.filter((line): line is SpeakerRevisionEvent => line.type === 'speaker_revision');
    expect(revisions).to.have.length(1);
    const [revision] = revisions as [SpeakerRevisionEvent];
    const unknown = turns[2] as TranscriptEvent;
    expect(revision).to.include({ pipeline: 'call', label: 'them', session_id: unknown.session_id });
    expect(revision.revisions).to.have.length(1);
    const [item] = revision.revisions;
    expect(item).to.include({ turn_order: unknown.turn_order, seq: unknown.seq, speaker: 'Bob', speaker_label: 'B' });
    // The words as delivered (text, times on the pipeline clock), now Bob's.
    expect(item?.words.map((w) => [w.text, w.start_ms, w.end_ms])).to.deep.equal(unknown.words.map((w) => [w.text, w.start_ms, w.end_ms]));
    expect(item?.words.every((w) => w.speaker === 'Bob')).to.equal(true);
    // After the final of the turn that revised it, like the service sends it.
    expect(lines.indexOf(revision)).to.equal(lines.indexOf(turns[3] as TranscriptEvent) + 1);
  });

  it('shows the names in the text file, and no speaker for the unattributed turn', async () => {
    const text = await readFile(join(dir, 'call.txt'), 'utf8');
    expect(text.split('\n').filter((line) => line !== '')).to.deep.equal([
      'them (Alice): Hello from the first speaker.',
      'them (Bob): The second one answers.',
      'them: Nobody knows who said this.',
      'them (Alice): That was me again.',
    ]);
  });

  it('delivers the revision to the webhook as transcript.speaker_revision, signed, under an id no turn has', () => {
    expect(receiver.requests.every((request) => request.signatureError === undefined)).to.equal(true);
    const bodies = [...receiver.processed.entries()] as [string, { type: string; data: Line }][];
    expect(bodies.map(([, body]) => body.type)).to.deep.equal([
      'transcript.final',
      'transcript.final',
      'transcript.final',
      'transcript.final',
      'transcript.speaker_revision',
    ]);
    const ids = bodies.map(([id]) => id);
    expect(new Set(ids).size).to.equal(ids.length);
    const [, revisionBody] = bodies[4] as [string, { type: string; data: SpeakerRevisionEvent }];
    const [, unknownBody] = bodies[2] as [string, { type: string; data: TranscriptEvent }];
    expect(revisionBody.data.revisions.map((r) => [r.seq, r.speaker])).to.deep.equal([[unknownBody.data.seq, 'Bob']]);
  });

  it('gives a plugin without revise() every turn and nothing else; one with it the revision in order', async () => {
    const jsonlTurns = (await readLines<Line>(join(dir, 'call.jsonl'))).filter((line): line is TranscriptEvent => line.type === undefined);
    const seqs = jsonlTurns.map((t) => t.seq);
    const turnsOnly = await readLines<{ kind: string; seq: number; speaker: string }>(join(dir, 'turns-only.log'));
    // Plugins get partials too: the finals are among them, and nothing is a revision.
    expect(turnsOnly.every((record) => record.kind === 'turn')).to.equal(true);
    expect(seqs.every((seq) => turnsOnly.some((record) => record.seq === seq))).to.equal(true);

    const withRevise = await readLines<{ kind: string; seq?: number; seqs?: number[]; speakers?: string[] }>(join(dir, 'with-revise.log'));
    const revisionAt = withRevise.findIndex((record) => record.kind === 'revision');
    expect(withRevise.filter((record) => record.kind === 'revision')).to.deep.equal([{ kind: 'revision', seqs: [seqs[2]], speakers: ['Bob'] }]);
    expect(withRevise.findIndex((record) => record.seq === seqs[3])).to.be.lessThan(revisionAt);
  });

  it('says nothing went wrong', () => {
    const problems = earshot.logs.filter((record) => record.level >= 40);
    expect(problems.map((record) => record.msg)).to.deep.equal([]);
  });
});
