/**
 * Audio messages always hold 50 to 1000 ms, whatever the source's frame_ms
 * and sample rate: through a reconnect's replay, across a gap, and at the end
 * (the last bit is padded). The emulator closes with 3007 on any other size;
 * here every message it received is measured too.
 */
import { expect } from 'chai';
import { expectedTurns, runPipeline, startWatchedServer, toneAudioFor, toneScript, withTempDir, type WatchedServer } from './harness.js';

const SOURCES = [
  { name: 'f10', source: ', frame_ms: 10' },
  { name: 'f20', source: ', frame_ms: 20' },
  { name: 'f30', source: ', frame_ms: 30' },
  { name: 'f50', source: ', frame_ms: 50' },
  { name: 'f70', source: ', frame_ms: 70' },
  { name: 'f250', source: ', frame_ms: 250' },
  { name: 'f1000', source: ', frame_ms: 1000' },
  { name: 'f30at44k', source: ', frame_ms: 30, sample_rate: 44100' },
];

describe('transport: audio message sizes (real pipeline)', function () {
  this.timeout(60000);

  it('sends 50..1000 ms per message for every frame_ms, through a replay and at the end', async () => {
    const script = toneScript(3);
    // An odd length, so the last frame is short.
    const audio = toneAudioFor(script, { gapMs: 1013 });
    const servers: WatchedServer[] = await Promise.all(SOURCES.map(() => startWatchedServer(script, { faults: [{ kind: 'drop', afterMs: 2600, sessions: [0] }] })));
    try {
      const run = await withTempDir('earshot-chunks-', (dir) =>
        runPipeline({
          dir,
          audio,
          pipelines: SOURCES.map((s, i) => ({ name: s.name, url: servers[i]!.server.url, source: s.source, transcriber: 'params: { format_turns: true }' })),
        }),
      );
      expect(run.exitCode, JSON.stringify(Object.values(run.pipelines).map((p) => p.failure).filter(Boolean))).to.equal(0);
      const figures: string[] = [];
      SOURCES.forEach((s, i) => {
        const result = run.pipelines[s.name]!;
        expect(result.events.filter((e) => e.final).map((e) => e.text), s.name).to.deep.equal(expectedTurns(audio).map((t) => t.text));
        const sessions = servers[i]!.sessions;
        expect(sessions.length, `${s.name}: a reconnect happened`).to.equal(2);
        const ms = sessions.flatMap((session) => session.chunkSamples.map((n) => (n * 1000) / session.sampleRate));
        expect(Math.min(...ms), s.name).to.be.at.least(50);
        expect(Math.max(...ms), s.name).to.be.at.most(1000);
        figures.push(`${s.name} ${Math.round(Math.min(...ms))}..${Math.round(Math.max(...ms))}`);
      });
      console.log(`      message sizes (ms): ${figures.join(', ')}`);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});
