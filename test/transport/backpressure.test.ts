/**
 * Done-when 5: the server stops reading for 20 s (a proxy in front of it
 * leaves the client's bytes in the kernel, which on loopback takes megabytes
 * before the client's own socket queue grows: that cap is shown in
 * stream.test.ts). The backlog stays within buffer_seconds by dropping its
 * oldest audio; the session is found dead (no pong) and replaced; what was
 * lost is counted (StreamStats and /metrics); once the server reads again the
 * stream carries on: the turns delivered are real turns, in order, where they
 * are in the audio, none twice.
 */
import { expect } from 'chai';
import { TcpProxy } from '../support/tcp-proxy.js';
import { runPipeline, startWatchedServer, toneAudioFor, toneScript, withTempDir } from './harness.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const BUFFER_SECONDS = 3;
const SOCKET_CAP_BYTES = 5 * 16000 * 2;
const MAX_CHUNK_BYTES = 16000 * 2;

describe('transport: a server that stops reading (real pipeline)', function () {
  this.timeout(90000);

  it('keeps the backlog bounded, finds the connection dead, counts what was lost, then recovers', async () => {
    const script = toneScript(14);
    const audio = toneAudioFor(script);
    const watched = await startWatchedServer(script);
    const proxy = await TcpProxy.start(watched.server.port);
    const backlogFrames: number[] = [];
    let lostInMetrics = NaN;
    try {
      const run = await withTempDir('earshot-backpressure-', (dir) =>
        runPipeline({
          dir,
          audio,
          url: proxy.url(watched.server.url),
          transcriber: `params: { format_turns: true }\nbuffer_seconds: ${BUFFER_SECONDS}`,
          during: async (service) => {
            const sample = setInterval(() => backlogFrames.push(service.runners[0]?.backlogFrames ?? 0), 100);
            await sleep(4000);
            proxy.limitUpstream(0);
            await sleep(20000);
            proxy.limitUpstream(undefined);
            await sleep(2000);
            const text = await service.metrics.registry.metrics();
            lostInMetrics = Number(/earshot_frames_dropped_total\{pipeline="meeting",stage="backlog"\} (\d+)/.exec(text)?.[1]);
            clearInterval(sample);
          },
        }),
      );
      expect(run.exitCode, run.failure).to.equal(0);
      const stats = run.stats!;
      expect(stats.peakBufferedBytes, 'queued in the socket').to.be.at.most(SOCKET_CAP_BYTES + MAX_CHUNK_BYTES);
      expect(Math.max(...backlogFrames), 'backlog frames').to.be.at.most((BUFFER_SECONDS * 1000) / 50);
      expect(stats.droppedUnconfirmed, 'audio dropped from the backlog').to.be.above(0);
      expect(stats.framesLost, 'audio lost').to.be.above(0);
      expect(lostInMetrics, '/metrics').to.equal(stats.framesLost);
      const lost = run.logs.filter((r) => String(r.msg).includes('transcriber connection lost: no answer to ping'));
      expect(lost.length, 'the stalled session was found dead').to.be.at.least(1);
      expect(watched.sessions[0]?.closed?.initiator).to.equal('client');
      const finals = run.events.filter((e) => e.final);
      const indexes = finals.map((e) => audio.turns.findIndex((t) => t.text === e.text));
      expect(indexes.every((i) => i >= 0), 'only scripted turns').to.equal(true);
      for (let i = 1; i < indexes.length; i++) expect(indexes[i]!, 'in order, none twice').to.be.above(indexes[i - 1]!);
      finals.forEach((event, i) => {
        const turn = audio.turns[indexes[i]!]!;
        expect(Math.abs(event.start_ms - turn.start_ms), turn.text).to.be.at.most(60);
        expect(Math.abs(event.end_ms - turn.end_ms), turn.text).to.be.at.most(60);
      });
      expect(indexes[0], 'turns before the stall').to.equal(0);
      expect(indexes[indexes.length - 1], 'turns after it').to.equal(audio.turns.length - 1);
      console.log(`      peak socket queue ${stats.peakBufferedBytes} bytes; backlog peak ${Math.max(...backlogFrames)} frames; ` +
        `dropped ${stats.droppedUnsent} unsent + ${stats.droppedUnconfirmed} sent frames, ${stats.framesLost} lost; ${finals.length}/${audio.turns.length} turns; ` +
        `${watched.sessions.length} sessions; ${lost.map((r) => String(r.msg).replace(/.*lost: /, '')).join(' | ')}`);
    } finally {
      await proxy.close();
      await watched.close();
    }
  });
});
