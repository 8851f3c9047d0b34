/**
 * Done-when 6 (rate): the service accepts audio at most 2 s ahead of real
 * time. After an outage the backlog is far bigger than that. Decision: the
 * client starts optimistic (the real service is reported to allow minutes),
 * so the first big replay is refused with 3007 "Audio Transmission Rate
 * Exceeded"; the client learns a lookahead below what was refused and
 * recovers, and the next outage's replay is paced and never refused again.
 * No turn is lost or doubled either way.
 */
import { expect } from 'chai';
import { TcpProxy } from '../support/tcp-proxy.js';
import { expectedTurns, runPipeline, startWatchedServer, toneAudioFor, toneScript, withTempDir } from './harness.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('transport: replaying a backlog within the service\'s real-time rate (real pipeline)', function () {
  this.timeout(90000);

  it('slows down after one 3007 and then replays every backlog within the rate', async () => {
    const script = toneScript(12);
    const audio = toneAudioFor(script);
    const watched = await startWatchedServer(script, { limits: { lookaheadSeconds: 2 } });
    const proxy = await TcpProxy.start(watched.server.port);
    const outage = async (atMs: number, forMs: number, started: number): Promise<void> => {
      await sleep(started + atMs - Date.now());
      proxy.refuse(true);
      proxy.cut();
      await sleep(forMs);
      proxy.refuse(false);
    };
    try {
      const run = await withTempDir('earshot-rate-', (dir) =>
        runPipeline({
          dir,
          audio,
          url: proxy.url(watched.server.url),
          transcriber: 'params: { format_turns: true }\nreconnect: { max_attempts: 20, initial_delay_ms: 100, max_delay_ms: 500 }',
          during: async () => {
            const started = Date.now();
            await outage(4000, 5000, started);
            await outage(15000, 5000, started);
          },
        }),
      );
      expect(run.exitCode, run.failure).to.equal(0);
      const finals = run.events.filter((e) => e.final);
      expect(finals.map((e) => e.text)).to.deep.equal(expectedTurns(audio).map((t) => t.text));
      finals.forEach((event, i) => {
        expect(Math.abs(event.start_ms - audio.turns[i]!.start_ms)).to.be.at.most(60);
        expect(Math.abs(event.end_ms - audio.turns[i]!.end_ms)).to.be.at.most(60);
      });
      const closes = watched.sessions.map((s) => s.closed?.code);
      const rateCloses = watched.sessions.filter((s) => s.closed?.code === 3007);
      expect(rateCloses.length, `closes: ${closes.join(', ')}`).to.equal(1);
      expect(rateCloses[0]?.closed?.error).to.match(/^Audio Transmission Rate Exceeded/);
      const afterLearning = watched.sessions.filter((s) => s.index > rateCloses[0]!.index);
      expect(afterLearning.length, 'sessions after the 3007').to.be.at.least(2);
      expect(run.stats?.rateLimited).to.equal(1);
      expect(run.stats?.lookaheadMs).to.be.below(2000);
      expect(run.stats?.droppedUnsent).to.equal(0);
      const replayed = afterLearning.map((s) => Math.round(s.closed?.audioMsReceived ?? 0));
      console.log(`      sessions closed with ${closes.join(', ')}; learned lookahead ${run.stats?.lookaheadMs} ms; ${run.wallMs} ms wall for ${Math.round(audio.durationMs)} ms of audio; audio per session after learning ${replayed.join(', ')} ms`);
    } finally {
      await proxy.close();
      await watched.close();
    }
  });
});
