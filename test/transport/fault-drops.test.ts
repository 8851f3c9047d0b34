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
    // Every session also gets a frame that is not JSON and a message type the API does not have: logged, never fatal.
    const watched = await startWatchedServer(script, {
      faults: [
        { kind: 'drop-random', minMs: 1000, maxMs: 5000, seed: 20260 },
        { kind: 'malformed-json', afterMs: 300 },
        { kind: 'unknown-message', afterMs: 600 },
      ],
    });
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
      const startErrors = finals.map((event, i) => Math.abs(event.start_ms - expected[i]!.start_ms));
      const endErrors = finals.map((event, i) => Math.abs(event.end_ms - expected[i]!.end_ms));
      finals.forEach((event, i) => {
        expect(startErrors[i], `start of "${event.text}"`).to.be.at.most(TOLERANCE_MS);
        expect(endErrors[i], `end of "${event.text}"`).to.be.at.most(TOLERANCE_MS);
      });
      const warnings = run.logs.map((r) => String(r.msg));
      expect(warnings).to.include('ignoring a malformed message from the transcriber');
      expect(warnings).to.include('ignoring transcriber messages of an unknown type');
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
        ` times off by at most ${Math.max(...startErrors)} ms (start), ${Math.max(...endErrors)} ms (end);` +
        ` drop->Begin p50 ${percentile(begins, 50)} ms max ${Math.max(...begins)} ms; drop->first audio p50 ${percentile(audios, 50)} ms max ${Math.max(...audios)} ms`);
    } finally {
      clearInterval(periodic);
      await watched.close();
    }
  });
});
