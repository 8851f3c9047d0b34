/**
 * Done-when 4: sessions that the server ends after 15 s. The stream opens the
 * next session before the current one expires, switches at a turn boundary,
 * and ends the old one: no 3008, no gap, no final lost or doubled, and the
 * two sessions overlap only briefly.
 */
import { expect } from 'chai';
import { expectedTurns, runPipeline, startWatchedServer, toneAudioFor, toneScript, withTempDir } from './harness.js';

describe('transport: session rollover before the maximum duration (real pipeline)', function () {
  this.timeout(90000);

  it('rolls over to a new session without a gap, without losing or doubling a final', async () => {
    const script = toneScript(13);
    const audio = toneAudioFor(script);
    const watched = await startWatchedServer(script, { limits: { maxSessionSeconds: 15 } });
    try {
      const run = await withTempDir('earshot-rollover-', (dir) =>
        runPipeline({ dir, audio, url: watched.server.url, transcriber: 'params: { format_turns: true }' }),
      );
      expect(run.exitCode, run.failure).to.equal(0);
      const finals = run.events.filter((event) => event.final);
      expect(finals.map((event) => event.text)).to.deep.equal(expectedTurns(audio).map((turn) => turn.text));
      finals.forEach((event, i) => {
        const turn = audio.turns[i]!;
        expect(Math.abs(event.start_ms - turn.start_ms), turn.text).to.be.at.most(60);
        expect(Math.abs(event.end_ms - turn.end_ms), turn.text).to.be.at.most(60);
      });
      const sessions = watched.sessions;
      expect(sessions.length, 'sessions').to.be.at.least(3);
      expect(run.stats?.rollovers).to.equal(sessions.length - 1);
      expect(run.stats?.reconnects).to.equal(0);
      const overlaps: number[] = [];
      for (let i = 0; i + 1 < sessions.length; i++) {
        const old = sessions[i]!;
        const next = sessions[i + 1]!;
        expect(old.closed?.code, `session ${i} ends normally, before it expires`).to.equal(1000);
        expect(old.closed?.terminationSent, `session ${i} was sent Terminate`).to.equal(true);
        const overlap = old.closedAt! - next.beganAt!;
        overlaps.push(overlap);
        expect(overlap, `session ${i + 1} began before session ${i} ended`).to.be.at.least(0);
        expect(overlap, 'a brief overlap').to.be.below(1000);
        expect(old.closedAt! - old.beganAt!, `session ${i} lived less than its 15 s`).to.be.below(15000);
      }
      const heard = sessions.reduce((sum, s) => sum + (s.closed?.audioMsReceived ?? 0), 0);
      expect(heard, 'the sessions heard all the audio between them').to.be.at.least(audio.durationMs);
      console.log(`      ${sessions.length} sessions; overlaps ${overlaps.join(', ')} ms; ${Math.round(heard - audio.durationMs)} ms of audio heard twice`);
    } finally {
      await watched.close();
    }
  });
});
