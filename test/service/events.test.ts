/**
 * GET /events as another program uses it: the real `earshot run` in a child
 * process, two pipelines (labels me and them) each playing a looping
 * tone-coded file at real-time pace into an in-process `earshot serve` with
 * the script engine, and real HTTP clients parsing the Server-Sent Events.
 * Checked: partials and finals with the jsonl fields in order, the filters,
 * bad parameters, resuming with Last-Event-ID (exactly the missed finals,
 * none twice), and SIGTERM ending the streams with the last finals in them.
 */
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import { idNumber, readFinals, SseClient } from '../support/sse-client.js';
import { EarshotProcess, fetchText, sample, scrape, SCRIPT_TEXTS, ScriptServer, waitFor, writeToneWav } from './harness.js';

const API_KEY = 'events-test-key-0123456789';
const JSONL_KEYS = ['pipeline', 'label', 'session_id', 'seq', 'turn_order', 'final', 'formatted', 'text', 'start_ms', 'end_ms', 'words', 'received_at', 'speaker', 'language_code', 'end_of_turn_confidence'];
const REQUIRED_KEYS = ['pipeline', 'label', 'session_id', 'seq', 'turn_order', 'final', 'formatted', 'text', 'start_ms', 'end_ms', 'words', 'received_at'];

type Streamed = TranscriptEvent & { $id: string | undefined; $event: string };

describe('earshot run: GET /events (Server-Sent Events)', function () {
  this.timeout(60000);
  let dir: string;
  let server: ScriptServer;
  let earshot: EarshotProcess;
  let url: string;
  /** Connected from the start to the end: what every other client is checked against. */
  let reference: SseClient;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-events-'));
    server = await ScriptServer.start(API_KEY);
    await writeToneWav(join(dir, 'tones.wav'));
    const pipeline = (name: string) => `  ${name}:
    label: ${name}
    source: { type: file, path: tones.wav, loop: true }
    transcriber: { type: assemblyai, api_key: \${EARSHOT_TEST_KEY}, url: "${server.wsUrl}", params: { format_turns: true } }
    sinks:
      - { type: file, path: "${name}.jsonl", format: jsonl }`;
    await writeFile(join(dir, 'pipeline.yaml'), `version: 1
service: { http: { port: 0 }, log: { format: json }, shutdown_timeout_ms: 5000 }
pipelines:
${pipeline('me')}
${pipeline('them')}
`);
    earshot = EarshotProcess.run('pipeline.yaml', { cwd: dir, env: { EARSHOT_TEST_KEY: API_KEY } });
    url = await earshot.httpUrl();
    reference = await SseClient.connect(`${url}/events`);
  });

  after(async () => {
    reference?.close();
    earshot?.kill();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const finalsOf = (client: SseClient, pipeline?: string): Streamed[] =>
    client.parsed<TranscriptEvent>('final').filter((e) => pipeline === undefined || e.pipeline === pipeline);

  it('streams partials and finals of every pipeline, with the jsonl fields, in order', async () => {
    expect(reference.status).to.equal(200);
    expect(reference.response.headers['content-type']).to.match(/^text\/event-stream/);
    await waitFor(() => finalsOf(reference, 'me').length >= 3 && finalsOf(reference, 'them').length >= 3, '3 finals of each pipeline', 30000);

    const events = reference.parsed<TranscriptEvent>();
    const ids = events.map((e) => idNumber(e.$id));
    expect(ids.every((n, i) => Number.isInteger(n) && (i === 0 || n > (ids[i - 1] as number))), `ids increase: ${ids.join(',')}`).to.equal(true);
    for (const event of events) {
      expect(event.$event).to.equal(event.final ? 'final' : 'partial');
      const keys = Object.keys(event).filter((k) => !k.startsWith('$'));
      expect(JSONL_KEYS, 'only jsonl fields').to.include.members(keys);
      expect(keys, 'the fields every event has').to.include.members(REQUIRED_KEYS);
      expect(event.label).to.equal(event.pipeline);
    }
    for (const pipeline of ['me', 'them']) {
      const mine = events.filter((e) => e.pipeline === pipeline);
      const seqs = mine.map((e) => e.seq);
      expect(seqs.every((s, i) => i === 0 || s > (seqs[i - 1] as number)), `${pipeline}: seq increases`).to.equal(true);
      const finals = mine.filter((e) => e.final);
      for (const final of finals) {
        expect(SCRIPT_TEXTS).to.include(final.text);
        // Every turn was shown as it grew before it ended (unless the stream began mid-turn).
        if (final !== finals[0]) {
          expect(mine.some((e) => !e.final && e.session_id === final.session_id && e.turn_order === final.turn_order && e.seq < final.seq), `a partial before "${final.text}"`).to.equal(true);
        }
      }
      // The looping file says its two turns in turn.
      for (let i = 1; i < finals.length; i++) expect(finals[i]?.text).to.not.equal(finals[i - 1]?.text);
    }
  });

  it('filters by pipeline and to finals only', async () => {
    const them = await SseClient.connect(`${url}/events?pipeline=them&finals=1`);
    const both = await SseClient.connect(`${url}/events?pipeline=me,them`);
    try {
      await waitFor(() => them.messages.length >= 2 && finalsOf(both, 'me').length >= 1 && finalsOf(both, 'them').length >= 1, 'filtered events', 20000);
      expect(them.parsed<TranscriptEvent>().map((e) => [e.$event, e.pipeline, e.final])).to.deep.equal(them.messages.map(() => ['final', 'them', true]));
      expect(both.parsed<TranscriptEvent>().some((e) => !e.final)).to.equal(true);
    } finally {
      them.close();
      both.close();
    }
  });

  it('answers a bad parameter with 400 naming it and what is valid', async () => {
    const cases: [string, RegExp][] = [
      ['finals=yes', /finals: "yes" is not valid; use 1/],
      ['pipeline=me,%3Cb%3E', /pipeline: "<b>" is not a pipeline name/],
      ['pipelines=me', /unknown parameter "pipelines": \/events takes pipeline, finals/],
      ['finals=1&finals=0', /finals is given more than once/],
    ];
    for (const [query, message] of cases) {
      const answer = await fetchText(`${url}/events?${query}`);
      expect(answer.status, query).to.equal(400);
      expect(answer.text, query).to.match(message);
    }
  });

  it('gives a client that reconnects with Last-Event-ID exactly the finals it missed', async () => {
    const first = await SseClient.connect(`${url}/events`);
    await waitFor(() => finalsOf(first).length >= 1, 'a first final');
    first.close();
    await first.closed;
    const lastSeen = first.lastEventId as string;
    // Finals go on while it is away.
    const missedBy = () => finalsOf(reference).filter((e) => idNumber(e.$id) > idNumber(lastSeen));
    await waitFor(() => missedBy().length >= 3, '3 finals while the client is away', 20000);

    const again = await SseClient.connect(`${url}/events`, { 'last-event-id': lastSeen });
    try {
      const missed = missedBy().map((e) => e.$id);
      await waitFor(() => finalsOf(again).length >= missed.length + 1, 'the replay and a live final', 20000);
      const got = again.parsed<TranscriptEvent>();
      // The replay comes first, finals only, exactly those missed; then the stream goes on live.
      expect(got.slice(0, missed.length).map((e) => e.$id)).to.deep.equal(missed);
      const finalIds = finalsOf(again).map((e) => e.$id);
      expect(new Set(finalIds).size, 'no final twice').to.equal(finalIds.length);
      expect(finalIds.every((id) => idNumber(id) > idNumber(lastSeen))).to.equal(true);
      // What the reference saw over the same span, it saw too.
      const until = idNumber(finalIds.at(-1));
      expect(finalIds).to.deep.equal(finalsOf(reference).filter((e) => idNumber(e.$id) > idNumber(lastSeen) && idNumber(e.$id) <= until).map((e) => e.$id));
    } finally {
      again.close();
    }

    // An id from another run of the service: everything this run still keeps.
    const stranger = await SseClient.connect(`${url}/events?finals=1`, { 'last-event-id': 'zzzzzz-3' });
    try {
      const seen = finalsOf(reference).map((e) => e.$id);
      await waitFor(() => seen.every((id) => stranger.messages.some((m) => m.id === id)), 'every final so far');
      // The reference connected before the first final, so the replay begins where it did.
      expect(stranger.messages[0]?.id).to.equal(seen[0]);
    } finally {
      stranger.close();
    }
    const metrics = await scrape(url);
    expect(sample(metrics, 'earshot_event_stream_events_total')).to.be.greaterThan(reference.messages.length);
  });

  it('ends the streams on SIGTERM after the last finals, and exits 0 promptly', async () => {
    const late = await SseClient.connect(`${url}/events?finals=1`);
    await waitFor(() => late.messages.length >= 1, 'a final');
    const signalledAt = Date.now();
    earshot.signal('SIGTERM');
    await Promise.all([reference.closed, late.closed]);
    const exit = await earshot.exitWithin(15000);
    expect(exit.code).to.equal(0);
    const streamsEndedAfterMs = Date.now() - signalledAt;
    // Every final the file sinks wrote since the client connected reached the stream, the last ones included.
    for (const pipeline of ['me', 'them']) {
      const written = await readFinals(join(dir, `${pipeline}.jsonl`));
      const streamed = finalsOf(reference, pipeline);
      const fromSeq = streamed[0]?.seq ?? Infinity;
      expect(streamed.map((e) => [e.seq, e.text])).to.deep.equal(written.filter((e) => e.seq >= fromSeq).map((e) => [e.seq, e.text]));
    }
    expect(streamsEndedAfterMs).to.be.below(15000);
  });
});
