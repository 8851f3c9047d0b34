import { expect } from 'chai';
import { once } from 'node:events';
import { chunkPcm, chunkPcmPadded } from '../support/pcm.js';
import { V3TestClient } from '../support/v3-test-client.js';
import { scriptWords } from '../../src/serve/engines/script-file.js';
import type { SessionInfo } from '../../src/serve/session.js';
import { AUDIO, CHUNKS_100MS, RATE, SCRIPT, closeServers, linearToMulaw, nextClosed, sleep, startServer } from './helpers.js';

type Message = Record<string, unknown>;
interface Word {
  text: string;
  start: number;
  end: number;
  confidence: number;
  word_is_final: boolean;
}
const words = (message: Message): Word[] => message.words as Word[];
const turns = (client: V3TestClient): Message[] => client.messages('Turn');
const finalsOf = (client: V3TestClient, formatted: boolean): Message[] =>
  turns(client).filter((turn) => turn.end_of_turn === true && turn.turn_is_formatted === formatted);

describe('earshot serve: a session', function () {
  this.timeout(10000);
  afterEach(closeServers);

  it('sends Begin at once, with a uuid and expiry, and lists the live session', async () => {
    const server = await startServer();
    const opened = once(server, 'session-opened');
    const before = Date.now();
    const client = await V3TestClient.connect(server.url, { params: { sample_rate: 16000, format_turns: true } });
    const begin = await client.waitForType('Begin', 1000);
    expect(client.frames[0]?.atMs).to.be.below(900);
    expect(begin.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(begin.expires_at).to.be.within(Math.floor(before / 1000) + 10800, Math.ceil(Date.now() / 1000) + 10800);
    const [info] = (await opened) as [SessionInfo];
    expect(info).to.include({ id: begin.id, index: 0, state: 'open', sampleRate: 16000, encoding: 'pcm_s16le' });
    expect(info.params).to.deep.equal({ sample_rate: 16000, format_turns: true });
    client.sendAudio(CHUNKS_100MS[0] as Buffer);
    await sleep(50);
    expect(server.sessions().map((s) => [s.id, s.audioMsReceived])).to.deep.equal([[begin.id, 100]]);
    client.close();
  });

  it('plays a whole session: partials, unformatted and formatted finals per turn, Termination, close 1000', async () => {
    const server = await startServer();
    const closed = nextClosed(server);
    const client = await V3TestClient.begin(server.url, { params: { sample_rate: RATE, format_turns: true } });
    for (const chunk of CHUNKS_100MS) client.sendAudio(chunk);
    await client.waitFor((m) => m.type === 'Turn' && m.turn_order === 1 && m.turn_is_formatted === true);
    client.sendJson({ type: 'Terminate' });
    const close = await client.waitClosed();
    expect(close.code).to.equal(1000);

    SCRIPT.turns.forEach((turn, order) => {
      const ofTurn = turns(client).filter((m) => m.turn_order === order);
      const partials = ofTurn.filter((m) => m.end_of_turn === false);
      expect(partials.length, `partials of turn ${order}`).to.be.greaterThan(0);
      for (const partial of partials) {
        expect(partial.turn_is_formatted).to.equal(false);
        expect(partial.transcript).to.equal(words(partial).map((w) => w.text).join(' '));
        expect(words(partial).map((w) => w.word_is_final)).to.deep.equal(words(partial).map((_, i, all) => i < all.length - 1));
      }
      // Then exactly one unformatted final and one formatted final, in that order, last for this turn.
      expect(ofTurn.slice(partials.length).map((m) => [m.end_of_turn, m.turn_is_formatted])).to.deep.equal([
        [true, false],
        [true, true],
      ]);
      const [unformatted, formatted] = ofTurn.slice(partials.length) as [Message, Message];
      expect(unformatted.transcript).to.equal(scriptWords(turn.text).join(' '));
      expect(words(unformatted).every((w) => w.word_is_final)).to.equal(true);
      expect(formatted.transcript).to.equal(turn.text);
      expect(words(formatted).map((w) => w.text)).to.deep.equal(turn.text.split(' '));
      expect(words(formatted).map((w) => [w.start, w.end])).to.deep.equal(words(unformatted).map((w) => [w.start, w.end]));
      const span = AUDIO.turns[order];
      expect(words(unformatted)[0]?.start).to.be.within((span?.start_ms ?? 0) - 15, (span?.start_ms ?? 0) + 15);
    });
    expect(words(finalsOf(client, false)[1] as Message)[0]?.confidence).to.equal(0.85);

    const termination = client.frames.at(-1)?.message;
    expect(termination?.type).to.equal('Termination');
    expect(termination?.audio_duration_seconds).to.equal((CHUNKS_100MS.length * 100) / 1000);
    expect(termination?.session_duration_seconds).to.be.a('number').and.be.above(0);
    const info = await closed;
    expect(info).to.include({ code: 1000, initiator: 'server', terminationSent: true, state: 'closed' });
  });

  it('answers Terminate with the pending turn, then Termination, then close 1000, and nothing after', async () => {
    const server = await startServer();
    const client = await V3TestClient.begin(server.url, { params: { sample_rate: RATE, format_turns: true } });
    // The first turn, and the second one only half played: no silence has ended it.
    const cutMs = (AUDIO.turns[1]?.start_ms ?? 0) + 600;
    const chunks = CHUNKS_100MS.slice(0, Math.round(cutMs / 100));
    for (const chunk of chunks) client.sendAudio(chunk);
    await client.waitFor((m) => m.type === 'Turn' && m.turn_order === 1);
    const framesBefore = client.frames.length;
    client.sendJson({ type: 'Terminate' });
    client.sendAudio(CHUNKS_100MS[0] as Buffer); // ignored: the session is finishing
    const close = await client.waitClosed();
    await sleep(300);
    const after = client.frames.slice(framesBefore).map((f) => f.message);
    expect(after.map((m) => [m?.type, m?.turn_order, m?.end_of_turn, m?.turn_is_formatted])).to.deep.equal([
      ['Turn', 1, true, false],
      ['Turn', 1, true, true],
      ['Termination', undefined, undefined, undefined],
    ]);
    // Cut mid-voice after 600 ms: the words heard so far.
    expect(after[0]?.transcript).to.equal('second');
    expect(after[2]?.audio_duration_seconds).to.equal((chunks.length * 100) / 1000);
    expect(close.code).to.equal(1000);
    expect(client.types().at(-1)).to.equal('Termination');
  });

  it('gives the same turns for the same audio in any session', async () => {
    const server = await startServer();
    const runOnce = async (): Promise<Message[]> => {
      const client = await V3TestClient.begin(server.url, { params: { sample_rate: RATE, format_turns: true } });
      for (const chunk of chunkPcmPadded(AUDIO.samples, RATE, 250)) client.sendAudio(chunk);
      client.sendJson({ type: 'Terminate' });
      await client.waitClosed();
      return turns(client);
    };
    const first = await runOnce();
    const second = await runOnce();
    expect(first.filter((m) => m.end_of_turn === true)).to.have.length(4);
    expect(second).to.deep.equal(first);
  });

  it('formats finals only with format_turns, which UpdateConfiguration can switch on mid-session', async () => {
    const server = await startServer();
    const client = await V3TestClient.begin(server.url);
    const firstTurnEnd = Math.round(((AUDIO.turns[1]?.start_ms ?? 0) - 100) / 100);
    for (const chunk of CHUNKS_100MS.slice(0, firstTurnEnd)) client.sendAudio(chunk);
    await client.waitFor((m) => m.type === 'Turn' && m.end_of_turn === true);
    client.sendJson({ type: 'UpdateConfiguration', format_turns: true, end_of_turn_confidence_threshold: 0.5 });
    await sleep(50);
    expect(server.sessions()[0]?.params).to.include({ format_turns: true, end_of_turn_confidence_threshold: 0.5 });
    for (const chunk of CHUNKS_100MS.slice(firstTurnEnd)) client.sendAudio(chunk);
    client.sendJson({ type: 'Terminate' });
    await client.waitClosed();
    expect(finalsOf(client, false).map((m) => m.turn_order)).to.deep.equal([0, 1]);
    expect(finalsOf(client, true).map((m) => m.transcript)).to.deep.equal(['Second turn here.']);
  });

  it('ends the turn on ForceEndpoint without waiting for silence, and takes KeepAlive quietly', async () => {
    const server = await startServer();
    const client = await V3TestClient.begin(server.url);
    client.sendJson({ type: 'KeepAlive' });
    // The first turn's tone and 200 ms of the silence after it: not enough to end it.
    const upTo = Math.round(((AUDIO.turns[0]?.end_ms ?? 0) + 200) / 100);
    for (const chunk of CHUNKS_100MS.slice(0, upTo)) client.sendAudio(chunk);
    await client.waitFor((m) => m.type === 'Turn');
    await sleep(100);
    expect(finalsOf(client, false)).to.have.length(0);
    client.sendJson({ type: 'ForceEndpoint' });
    const final = await client.waitFor((m) => m.type === 'Turn' && m.end_of_turn === true, 1000);
    expect(final.transcript).to.equal('hello world');
    expect(final.end_of_turn_confidence).to.be.within(0.5, 1);
    expect(client.isClosed()).to.equal(false);
    client.close();
  });

  it('decodes pcm_mulaw audio to the same turns', async () => {
    const server = await startServer();
    const client = await V3TestClient.begin(server.url, { params: { sample_rate: RATE, encoding: 'pcm_mulaw' } });
    const mulaw = Buffer.from(Array.from(AUDIO.samples, linearToMulaw));
    for (let offset = 0; offset < mulaw.length; offset += 1600) client.sendAudio(mulaw.subarray(offset, offset + 1600));
    client.sendJson({ type: 'Terminate' });
    await client.waitClosed();
    expect(finalsOf(client, false).map((m) => m.transcript)).to.deep.equal(['hello world', 'second turn here']);
    expect(client.messages('Termination')[0]?.audio_duration_seconds).to.equal(AUDIO.durationMs / 1000);
  });

  it('sends Heartbeat when asked (session_heartbeat), and stops when UpdateConfiguration says so', async () => {
    const server = await startServer({ heartbeatIntervalMs: 150 });
    const client = await V3TestClient.begin(server.url, { params: { sample_rate: RATE, session_heartbeat: true } });
    for (const chunk of chunkPcm(AUDIO.samples.subarray(0, RATE), RATE, 100)) client.sendAudio(chunk);
    const beat = await client.waitForType('Heartbeat', 2000);
    expect(beat).to.include({ total_audio_received_ms: 1000 });
    expect(beat.total_duration_ms).to.be.within(100, 3000);
    expect(beat.realtime_factor).to.be.above(1);
    expect(beat.max_speech_probability).to.be.oneOf([0, 1]);
    client.sendJson({ type: 'UpdateConfiguration', session_heartbeat: false });
    await sleep(100);
    const count = client.messages('Heartbeat').length;
    await sleep(400);
    expect(client.messages('Heartbeat')).to.have.length(count);
    client.close();
  });

  it('announces speech for Universal-3 Pro models and reports silences with acknowledge_silence', async () => {
    const server = await startServer();
    const client = await V3TestClient.begin(server.url, {
      params: { sample_rate: RATE, speech_model: 'u3-rt-pro', acknowledge_silence: true },
    });
    for (const chunk of CHUNKS_100MS) client.sendAudio(chunk);
    client.sendJson({ type: 'Terminate' });
    await client.waitClosed();
    const started = client.messages('SpeechStarted');
    expect(started.map((m) => m.timestamp)).to.deep.equal(AUDIO.turns.map((t) => words(finalsOf(client, false)[t.index] as Message)[0]?.start));
    const firstTurn = client.types().indexOf('Turn');
    expect(client.types().slice(firstTurn - 2, firstTurn)).to.deep.equal(['SpeechStarted', 'Silence']);
    expect(client.messages('Silence')[1]).to.deep.equal({
      type: 'Silence',
      start_ms: words(finalsOf(client, false)[0] as Message).at(-1)?.end,
      end_ms: started[1]?.timestamp,
    });
  });
});
