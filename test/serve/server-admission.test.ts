import { expect } from 'chai';
import { once } from 'node:events';
import { V3TestClient } from '../support/v3-test-client.js';
import { CONNECTION_PARAMS, REASONS } from '../../src/transport/protocol.js';
import type { ConnectionRejectedInfo } from '../../src/serve/server.js';
import { closeServers, startServer } from './helpers.js';

type Message = Record<string, unknown>;

/** Connects, expects an Error frame then a close with the same code, and no Begin. */
async function refused(url: string, options: Parameters<typeof V3TestClient.connect>[1]): Promise<{ error: Message; code: number; reason: string }> {
  const client = await V3TestClient.connect(url, options);
  const close = await client.waitClosed(2000);
  expect(client.types()).to.deep.equal(['Error']);
  const error = client.messages('Error')[0] as Message;
  expect(error.error_code).to.equal(close.code);
  return { error, code: close.code, reason: close.reason };
}

describe('earshot serve: who gets in', function () {
  this.timeout(10000);
  afterEach(closeServers);

  describe('auth', () => {
    it('refuses a missing key with an Error frame and close 1008, before Begin', async () => {
      const server = await startServer();
      const rejected = once(server, 'connection-rejected');
      const result = await refused(server.url, { apiKey: null });
      expect(result).to.deep.include({ code: 1008, reason: REASONS.missingAuth });
      expect(result.error).to.deep.equal({ type: 'Error', error_code: 1008, error: REASONS.missingAuth });
      expect(((await rejected) as [ConnectionRejectedInfo])[0]).to.deep.equal({
        code: 1008,
        reason: REASONS.missingAuth,
        error: REASONS.missingAuth,
      });
      expect(server.sessions()).to.deep.equal([]);
    });

    it('refuses a key not in apiKeys, accepts one that is, and any non-empty key when apiKeys is absent', async () => {
      const strict = await startServer({ apiKeys: ['good-key'] });
      expect(await refused(strict.url, { apiKey: 'bad-key' })).to.deep.include({ code: 1008, reason: REASONS.invalidAuth });
      (await V3TestClient.begin(strict.url, { apiKey: 'good-key' })).close();
      const open = await startServer();
      (await V3TestClient.begin(open.url, { apiKey: 'anything' })).close();
      expect(await refused(open.url, { apiKey: '' })).to.deep.include({ code: 1008, reason: REASONS.missingAuth });
    });

    it('issues temporary tokens that work once, before they expire, and cap the session', async () => {
      const server = await startServer({ apiKeys: ['good-key'] });
      const tokenUrl = server.url.replace('ws://', 'http://').replace('/v3/ws', '/v3/token');
      const noKey = await fetch(`${tokenUrl}?expires_in_seconds=60`);
      expect(noKey.status).to.equal(401);
      const badKey = await fetch(`${tokenUrl}?expires_in_seconds=60`, { headers: { Authorization: 'bad-key' } });
      expect(badKey.status).to.equal(401);
      const badExpiry = await fetch(`${tokenUrl}?expires_in_seconds=9000`, { headers: { Authorization: 'good-key' } });
      expect(badExpiry.status).to.equal(400);
      expect(((await badExpiry.json()) as { error: string }).error).to.equal(
        'expires_in_seconds must be an integer between 1 and 600, got "9000"',
      );
      const response = await fetch(`${tokenUrl}?expires_in_seconds=60&max_session_duration_seconds=120`, {
        headers: { Authorization: 'good-key' },
      });
      expect(response.status).to.equal(200);
      const { token } = (await response.json()) as { token: string };
      expect(token).to.be.a('string').with.length.above(20);

      const client = await V3TestClient.connect(server.url, { apiKey: null, params: { sample_rate: 16000, token } });
      const begin = await client.waitForType('Begin');
      expect(begin.expires_at).to.be.within(Math.floor(Date.now() / 1000) + 119, Math.ceil(Date.now() / 1000) + 120);
      expect(server.sessions()[0]?.params).to.not.have.property('token');
      client.close();
      expect(await refused(server.url, { apiKey: null, params: { sample_rate: 16000, token } })).to.deep.include({
        code: 1008,
        reason: REASONS.invalidToken,
      });

      const short = await fetch(`${tokenUrl}?expires_in_seconds=1`, { headers: { Authorization: 'good-key' } });
      const expired = ((await short.json()) as { token: string }).token;
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect(await refused(server.url, { apiKey: null, params: { sample_rate: 16000, token: expired } })).to.deep.include({
        code: 1008,
      });
    });

    it('answers other paths with 404 and a plain GET of /v3/ws with 426', async () => {
      const server = await startServer();
      const base = server.url.replace('ws://', 'http://').replace('/v3/ws', '');
      expect((await fetch(`${base}/v2/realtime`)).status).to.equal(404);
      expect((await fetch(`${base}/v3/ws`)).status).to.equal(426);
      try {
        await V3TestClient.connect(`${base.replace('http://', 'ws://')}/v2/realtime/ws`);
        expect.fail('the upgrade should be refused');
      } catch (error) {
        expect((error as Error).message).to.equal('HTTP 404');
      }
    });
  });

  describe('connection parameters', () => {
    it('refuses an unknown name with 3006, naming it and every valid name; the close reason points at the Error frame', async () => {
      const server = await startServer();
      const { error, code, reason } = await refused(server.url, { params: { sample_rate: 16000, sample_rte: 8000 } });
      expect(code).to.equal(3006);
      expect(reason).to.equal(REASONS.seeErrorMessage);
      expect(error.error).to.match(/^Input Validation Error: unknown connection parameter 'sample_rte'\. Valid parameters: sample_rate, encoding, /);
      for (const name of Object.keys(CONNECTION_PARAMS)) expect(error.error).to.include(name);
    });

    it('refuses ill-typed and out-of-range values with 3006, naming the parameter and what is valid', async () => {
      const server = await startServer();
      const cases: [Record<string, string | number>, string][] = [
        [{ format_turns: 'maybe' }, `connection parameter 'format_turns' must be a boolean (true or false); got "maybe"`],
        [{ end_of_turn_confidence_threshold: 1.5 }, `'end_of_turn_confidence_threshold' must be a number between 0 and 1; got "1.5"`],
        [{ inactivity_timeout: 2 }, `'inactivity_timeout' must be an integer between 5 and 3600; got "2"`],
        [{ max_turn_silence: '1.5s' }, `'max_turn_silence' must be an integer of at least 0; got "1.5s"`],
        [{ keyterms_prompt: 'alpha,beta' }, `'keyterms_prompt' must be a JSON array of strings; got "alpha,beta"`],
        [{ speech_model: 'nova-3' }, `'speech_model' must be one of universal-streaming-english, universal-streaming-multilingual, u3-rt-pro`],
        [{ speaker_labels: 'sometimes' }, `connection parameter 'speaker_labels' must be a boolean (true or false); got "sometimes"`],
        [{ speaker_labels_revision_interval_ms: 86_400_001 }, `'speaker_labels_revision_interval_ms' must be an integer between 0 and 86400000; got "86400001"`],
        [{ max_speakers: 0 }, `'max_speakers' must be an integer between 1 and 10; got "0"`],
      ];
      for (const [params, text] of cases) {
        const { error, code, reason } = await refused(server.url, { params: { sample_rate: 16000, ...params } });
        expect(code, JSON.stringify(params)).to.equal(3006);
        expect(error.error).to.include(text);
        expect(reason).to.equal(Buffer.byteLength(String(error.error)) > 123 ? REASONS.seeErrorMessage : error.error);
      }
    });

    it('refuses a parameter given twice', async () => {
      const server = await startServer();
      const { error } = await refused(server.url, { rawQuery: 'format_turns=true&format_turns=false' });
      expect(error.error).to.equal("Input Validation Error: connection parameter 'format_turns' is given 2 times; give it once");
    });

    it('closes with 4000 when sample_rate is missing or not a positive integer', async () => {
      const server = await startServer();
      expect(await refused(server.url, { params: { format_turns: true } })).to.deep.include({
        code: 4000,
        reason: 'Sample rate must be a positive integer: sample_rate is required for pcm_s16le audio',
      });
      for (const rate of ['0', 'abc', '16000.5']) {
        const { code, error } = await refused(server.url, { params: { sample_rate: rate } });
        expect(code).to.equal(4000);
        expect(error.error).to.equal(`Sample rate must be a positive integer: got "${rate}"`);
      }
    });

    it('refuses encodings it cannot decode with a clear message', async () => {
      const server = await startServer();
      const { code, error } = await refused(server.url, { params: { sample_rate: 48000, encoding: 'opus' } });
      expect(code).to.equal(3006);
      expect(error.error).to.equal(
        'Input Validation Error: earshot serve cannot decode opus audio (the real service can); connect with encoding pcm_s16le or pcm_mulaw',
      );
    });

    it('accepts every kind in the forms clients send, and deprecated names', async () => {
      const server = await startServer();
      const client = await V3TestClient.begin(server.url, {
        params: {
          sample_rate: 8000,
          encoding: 'pcm_mulaw',
          format_turns: 'True',
          keyterms_prompt: ['earshot', 'AssemblyAI'],
          end_of_turn_confidence_threshold: 0.7,
          min_end_of_turn_silence_when_confident: 300,
          speech_model: 'universal-streaming-english',
          redact_pii_policies: '["person_name"]',
          prompt: 'Transcribe verbatim.',
          _customer_support_audio_capture: false,
        },
      });
      expect(server.sessions()[0]?.params).to.deep.include({
        sample_rate: 8000,
        format_turns: true,
        keyterms_prompt: ['earshot', 'AssemblyAI'],
        min_turn_silence: 300,
        redact_pii_policies: ['person_name'],
      });
      client.close();
    });
  });

  describe('concurrency', () => {
    it('refuses sessions beyond the limit with 3009, and takes new ones once a session ends', async () => {
      const server = await startServer({ limits: { maxConcurrentSessions: 1 } });
      const first = await V3TestClient.begin(server.url);
      expect(await refused(server.url, {})).to.deep.include({ code: 3009, reason: REASONS.tooManySessions });
      first.sendJson({ type: 'Terminate' });
      await first.waitClosed();
      const third = await V3TestClient.begin(server.url);
      third.close();
    });
  });
});
