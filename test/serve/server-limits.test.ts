import { expect } from 'chai';
import { chunkPcm, chunkPcmPadded } from '../support/pcm.js';
import { V3TestClient } from '../support/v3-test-client.js';
import { REASONS } from '../../src/transport/protocol.js';
import type { EngineFactory } from '../../src/serve/engine.js';
import { startStreamingServer, type StreamingServerOptions } from '../../src/serve/server.js';
import { AUDIO, CHUNKS_100MS, RATE, closeServers, nextClosed, sleep, startServer } from './helpers.js';

type Message = Record<string, unknown>;

/** The Error frame and the close that must follow it, with the same code. */
async function errorClose(client: V3TestClient): Promise<{ error: string; code: number; reason: string }> {
  const close = await client.waitClosed(3000);
  const errors = client.messages('Error');
  expect(errors, `types: ${client.types().join(', ')}`).to.have.length(1);
  expect(client.types().at(-1)).to.equal('Error');
  const error = errors[0] as Message;
  expect(error.error_code).to.equal(close.code);
  return { error: String(error.error), code: close.code, reason: close.reason };
}

describe('earshot serve: limits and bad input', function () {
  this.timeout(15000);
  afterEach(closeServers);

  describe('audio messages', () => {
    for (const [ms, label] of [
      [30, 'too short'],
      [1200, 'too long'],
    ] as const) {
      it(`closes with 3007 on a chunk ${label} (${ms} ms)`, async () => {
        const server = await startServer();
        const client = await V3TestClient.begin(server.url);
        client.sendAudio(CHUNKS_100MS[0] as Buffer);
        client.sendAudio(chunkPcm(AUDIO.samples.subarray(0, (RATE * ms) / 1000), RATE, ms)[0] as Buffer);
        const text = `Input duration violation: ${ms} ms. Expected between 50 and 1000 ms`;
        expect(await errorClose(client)).to.deep.equal({ error: text, code: 3007, reason: text });
      });
    }

    it('accepts chunks of exactly 50 and 1000 ms, and of 1000 ms in pcm_mulaw at 8 kHz', async () => {
      const server = await startServer();
      const client = await V3TestClient.begin(server.url);
      client.sendAudio(chunkPcm(AUDIO.samples.subarray(0, 800), RATE, 50)[0] as Buffer);
      client.sendAudio(chunkPcm(AUDIO.samples.subarray(0, 16000), RATE, 1000)[0] as Buffer);
      const mulaw = await V3TestClient.begin(server.url, { params: { sample_rate: 8000, encoding: 'pcm_mulaw' } });
      mulaw.sendAudio(Buffer.alloc(8000, 0xff));
      await sleep(150);
      expect(server.sessions().map((s) => s.audioMsReceived).sort()).to.deep.equal([1000, 1050]);
      client.close();
      mulaw.close();
    });

    it('closes with 3007 when audio runs further ahead of real time than the lookahead allows', async () => {
      const server = await startServer({ limits: { lookaheadSeconds: 0.5 } });
      const closed = nextClosed(server);
      const client = await V3TestClient.begin(server.url);
      for (const chunk of CHUNKS_100MS.slice(0, 30)) client.sendAudio(chunk);
      const { error, code } = await errorClose(client);
      expect(code).to.equal(3007);
      const match = /^Audio Transmission Rate Exceeded: Received ([\d.]+) sec\. audio in ([\d.]+) sec$/.exec(error);
      expect(match, error).to.not.equal(null);
      const [received, elapsed] = [Number(match?.[1]), Number(match?.[2])];
      expect(received - elapsed).to.be.within(0.49, 0.65);
      expect((await closed).audioMsReceived).to.be.closeTo(received * 1000, 1);
    });

    it('lets a client pacing at real time stream past the lookahead', async () => {
      const server = await startServer({ limits: { lookaheadSeconds: 0.3 } });
      const client = await V3TestClient.begin(server.url);
      await client.streamPaced(chunkPcmPadded(AUDIO.samples.subarray(0, RATE * 1.2), RATE, 100), RATE, 1);
      client.sendJson({ type: 'Terminate' });
      expect((await client.waitClosed()).code).to.equal(1000);
      expect(client.messages('Termination')[0]?.audio_duration_seconds).to.equal(1.2);
    });
  });

  describe('session duration', () => {
    it('ends a session past its maximum with an Error 3008 and close 3008', async () => {
      const server = await startServer({ limits: { maxSessionSeconds: 0.6 } });
      const client = await V3TestClient.connect(server.url);
      const begin = await client.waitForType('Begin');
      expect(begin.expires_at).to.equal(Math.floor((server.sessions()[0]?.startedAt ?? 0) / 1000 + 0.6));
      expect(await errorClose(client)).to.deep.equal({ error: REASONS.sessionExpired, code: 3008, reason: REASONS.sessionExpired });
      expect(client.frames.at(-1)?.atMs).to.be.within(550, 2500);
    });

    it('ends an idle session after inactivity_timeout as if terminated; KeepAlive resets the clock', async () => {
      const server = await startServer();
      const client = await V3TestClient.begin(server.url, { params: { sample_rate: RATE, inactivity_timeout: 5 } });
      await sleep(1000);
      client.sendJson({ type: 'KeepAlive' });
      const close = await client.waitClosed(7000);
      expect(close.code).to.equal(1000);
      expect(client.types()).to.deep.equal(['Begin', 'Termination']);
      expect(client.frames.at(-1)?.atMs).to.be.within(5900, 7500);
    });
  });

  describe('text messages', () => {
    const cases: [string, string][] = [
      ['{"type": "Terminate"', 'Invalid JSON: {"type": "Terminate"'],
      ['[]', 'Invalid Message: []'],
      ['{"kind":"Terminate"}', 'Invalid Message: {"kind":"Terminate"}'],
      ['{"type":"Pause"}', 'Invalid Message Type: Pause'],
      ['{"type":"UpdateConfiguration","sample_rate":8000}', "Invalid Message: UpdateConfiguration cannot set 'sample_rate'. Settable: "],
      ['{"type":"UpdateConfiguration","format_turns":"yes"}', `Invalid Message: UpdateConfiguration field 'format_turns' must be a boolean (true or false); got "yes"`],
      ['{"type":"UpdateConfiguration","max_turn_silence":-5}', `Invalid Message: UpdateConfiguration field 'max_turn_silence' must be an integer of at least 0; got -5`],
    ];
    for (const [sent, text] of cases) {
      it(`closes with 3006 on ${sent}`, async () => {
        const server = await startServer();
        const client = await V3TestClient.begin(server.url);
        client.sendText(sent);
        const { error, code, reason } = await errorClose(client);
        expect(code).to.equal(3006);
        expect(error.startsWith(text), error).to.equal(true);
        expect(reason).to.equal(Buffer.byteLength(error) > 123 ? REASONS.seeErrorMessage : error);
      });
    }
  });

  it('closes open sessions with 1001 when the server closes, within its bound', async () => {
    const server = await startServer();
    const client = await V3TestClient.begin(server.url);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).to.be.below(1500);
    expect(await client.waitClosed()).to.deep.include({ code: 1001, reason: 'Server shutting down' });
    expect(client.types()).to.deep.equal(['Begin']);
  });
});

describe('earshot serve: engine failures and bad options', function () {
  this.timeout(10000);
  afterEach(closeServers);

  const failingEngine = (failure: 'push' | 'finish-hangs'): EngineFactory => () => ({
    pushAudio: () => {
      if (failure === 'push') throw new Error('decoder exploded');
    },
    forceEndpoint: () => undefined,
    finish: () => new Promise<void>(() => undefined),
    close: () => undefined,
    onTurn: () => undefined,
    onError: () => undefined,
  });

  it('ends the session with Error 3005 when the engine fails', async () => {
    const server = await startServer({ engine: failingEngine('push') });
    const client = await V3TestClient.begin(server.url);
    client.sendAudio(CHUNKS_100MS[0] as Buffer);
    expect(await errorClose(client)).to.deep.equal({ error: REASONS.serverError, code: 3005, reason: REASONS.serverError });
  });

  it('bounds an engine that never finishes after Terminate: Error 3005, no Termination', async () => {
    const server = await startServer({ engine: failingEngine('finish-hangs'), finishTimeoutMs: 300 });
    const client = await V3TestClient.begin(server.url);
    client.sendJson({ type: 'Terminate' });
    expect((await errorClose(client)).code).to.equal(3005);
    expect(client.frames.at(-1)?.atMs).to.be.within(280, 2000);
    expect(client.messages('Termination')).to.deep.equal([]);
  });

  it('refuses options it cannot honour, naming them', async () => {
    const engine = failingEngine('push');
    const cases: [Partial<StreamingServerOptions>, RegExp][] = [
      [{ limits: { maxSessionSeconds: 0 } }, /limits\.maxSessionSeconds must be a positive number, got 0/],
      [{ limits: { maxConcurrentSessions: 1.5 } }, /limits\.maxConcurrentSessions must be a positive integer, got 1\.5/],
      [{ limits: { lookaheadSeconds: -1 } }, /limits\.lookaheadSeconds must be a number of seconds >= 0, got -1/],
      [{ faults: [{ kind: 'close', afterMs: 5, code: 1006, reason: '' }] }, /fault close:5:1006: close code 1006 cannot be sent/],
    ];
    for (const [options, message] of cases) {
      try {
        await startStreamingServer({ engine, ...options });
        expect.fail(`accepted ${JSON.stringify(options)}`);
      } catch (error) {
        expect((error as Error).message).to.match(message);
      }
    }
    const server = await startServer();
    expect(() => server.closeAll(1005, 'x')).to.throw(RangeError, /close code 1005 cannot be sent/);
    const other = await startServer({ port: server.port }).catch((error: Error) => error);
    expect((other as Error).message).to.match(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${server.port}: EADDRINUSE`));
  });
});
