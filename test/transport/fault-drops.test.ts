/**
 * Done-when 1: a minute of audio through the real pipeline while the server
 * drops the connection at seeded random points in every session and, on top,
 * every few seconds of wall time. Every scripted final reaches the JSONL file
 * once, in order, where its tone is in the audio; reconnect times measured.
 */
import { expect } from 'chai';
import { expectedTurns, percentile, runPipeline, startWatchedServer, toneAudioFor, toneScript, withTempDir } from './harness.js';

describe('transport under connection drops (real pipeline, earshot serve on loopback)', function () {
  this.timeout(120000);

  it('delivers every final turn exactly once, in order, at its place in the audio, across ~20 drops', async () => {
    const script = toneScript(25);
    const audio = toneAudioFor(script);
    expect(audio.durationMs).to.be.at.least(60000);
    const watched = await startWatchedServer(script, { faults: [{ kind: 'drop-random', minMs: 1000, maxMs: 5000, seed: 20260 }] });
    const periodic = setInterval(() => watched.server.dropAll(), 7000);
    try {
      const run = await withTempDir('earshot-drops-', (dir) =>
        runPipeline({
          dir,
          audio,
          url: watched.server.url,
          transcriber: 'params: { format_turns: true }\nreconnect: { max_attempts: 20, initial_delay_ms: 100, max_delay_ms: 1000 }',
        }),
      );
      clearInterval(periodic);
      const finals = run.events.filter((event) => event.final);
      const expected = expectedTurns(audio);
      expect(run.exitCode, JSON.stringify(run.failure)).to.equal(0);
      expect(finals.map((event) => event.text)).to.deep.equal(expected.map((turn) => turn.text));
      // Script-engine timing: voice found in 10 ms blocks, the last word ends up to 40 ms before the voice does, 5 ms fades.
      const TOLERANCE_MS = 60;
      finals.forEach((event, i) => {
        const turn = expected[i]!;
        expect(Math.abs(event.start_ms - turn.start_ms), `start of "${turn.text}"`).to.be.at.most(TOLERANCE_MS);
        expect(Math.abs(event.end_ms - turn.end_ms), `end of "${turn.text}"`).to.be.at.most(TOLERANCE_MS);
      });
      const seqs = run.events.map((event) => event.seq);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).to.be.greaterThan(seqs[i - 1]!);
      const drops = watched.sessions.filter((s) => s.closed?.initiator === 'drop');
      expect(drops.length, 'drops').to.be.at.least(12);
      const reconnects = drops.map((s) => {
        const next = watched.sessions[s.index + 1];
        return { begin: (next?.beganAt ?? NaN) - s.closedAt!, audio: (next?.firstAudioAt ?? NaN) - s.closedAt! };
      }).filter((r) => Number.isFinite(r.begin) && Number.isFinite(r.audio));
      const begins = reconnects.map((r) => r.begin);
      const audios = reconnects.map((r) => r.audio);
      console.log(`      ${drops.length} drops in ${watched.sessions.length} sessions, ${run.wallMs} ms wall, replayed ${run.stats?.framesReplayed} frames;` +
        ` drop->Begin p50 ${percentile(begins, 50)} ms max ${Math.max(...begins)} ms; drop->first audio p50 ${percentile(audios, 50)} ms max ${Math.max(...audios)} ms`);
    } finally {
      clearInterval(periodic);
      await watched.close();
    }
  });
});
