/**
 * ForceEndpoint and UpdateConfiguration, from a user's HTTP request to the
 * transcriber session and back into the transcript: POST
 * /pipelines/<name>/force-endpoint ends the turn being spoken; POST
 * /pipelines/<name>/configuration changes live parameters now and in every
 * later session; bad parameters are refused with the problems named and
 * never reach the service (which would end the session with 3006).
 */
import { expect } from 'chai';
import type { Service } from '../../src/service/service.js';
import { runPipeline, startWatchedServer, toneAudioFor, toneScript, waitUntil, withTempDir } from './harness.js';

async function post(service: Service, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${service.httpUrl ?? ''}${path}`, { method: 'POST', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('transport: ForceEndpoint and UpdateConfiguration over the service\'s HTTP endpoint (real pipeline)', function () {
  this.timeout(60000);

  it('ends a turn on request, and applies live parameters now and after a reconnect', async () => {
    const script = toneScript(4);
    const audio = toneAudioFor(script);
    const watched = await startWatchedServer(script);
    const heard = (): number => watched.server.sessions()[0]?.audioMsReceived ?? 0;
    const replies: Record<string, { status: number; json: Record<string, unknown> }> = {};
    let forcedAtMs = NaN;
    try {
      const run = await withTempDir('earshot-control-', (dir) =>
        runPipeline({
          dir,
          audio,
          url: watched.server.url,
          transcriber: 'params: { format_turns: true, max_turn_silence: 1200 }',
          service: 'http: { host: 127.0.0.1, port: 0 }',
          during: async (service) => {
            await waitUntil(() => service.httpUrl !== undefined && watched.server.sessions().length === 1, 'the first session');
            replies.unknown = await post(service, '/pipelines/nope/force-endpoint');
            replies.bad = await post(service, '/pipelines/meeting/configuration', { vad_threshold: 7, sample_rate: 8000 });
            replies.update = await post(service, '/pipelines/meeting/configuration', { max_turn_silence: 500, keyterms_prompt: ['bravo'] });
            const turn = audio.turns[1]!;
            await waitUntil(() => heard() >= turn.start_ms + 800, 'the middle of the second turn');
            forcedAtMs = heard();
            replies.force = await post(service, '/pipelines/meeting/force-endpoint');
            await waitUntil(() => heard() >= audio.turns[2]!.end_ms + 900, 'the end of the third turn');
            watched.server.dropAll();
          },
        }),
      );
      expect(replies.unknown?.status).to.equal(404);
      expect(replies.bad?.status).to.equal(400);
      const problems = replies.bad?.json.problems as string[];
      expect(problems).to.have.length(2);
      expect(problems[0]).to.equal('vad_threshold: must be between 0 and 1, got 7');
      expect(problems[1]).to.match(/^sample_rate: cannot be changed during a session; settable: .*max_turn_silence/);
      expect(replies.update).to.deep.equal({ status: 202, json: { pipeline: 'meeting', updated: { max_turn_silence: 500, keyterms_prompt: ['bravo'] } } });
      expect(replies.force).to.deep.equal({ status: 202, json: { pipeline: 'meeting', force_endpoint: true } });
      expect(run.exitCode, run.failure).to.equal(0);

      const [first, second] = watched.sessions;
      expect(first?.closed?.code, 'the bad update never reached the service').to.equal(1006);
      expect(first?.closed?.params).to.include({ max_turn_silence: 500 });
      expect(second?.closed?.params, 'the next session got the update too').to.deep.include({ max_turn_silence: 500, keyterms_prompt: ['bravo'] });

      const finals = run.events.filter((e) => e.final);
      expect(finals.map((e) => e.text)).to.have.length(4);
      const forced = finals[1]!;
      const turn = audio.turns[1]!;
      expect(turn.text.startsWith(forced.text) && forced.text !== turn.text, `"${forced.text}" is the start of "${turn.text}"`).to.equal(true);
      expect(forced.end_ms, 'ended where it was forced, not at the end of the speech').to.be.within(turn.start_ms, Math.min(forcedAtMs + 100, turn.end_ms - 200));
      expect([finals[0]!.text, finals[2]!.text, finals[3]!.text]).to.deep.equal([audio.turns[0]!.text, audio.turns[2]!.text, audio.turns[3]!.text]);
    } finally {
      await watched.close();
    }
  });
});
