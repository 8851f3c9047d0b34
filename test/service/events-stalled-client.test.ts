/**
 * A client of /events that stops reading must cost the service nothing but
 * a bounded buffer. A real Service in this process runs a pipeline (a
 * tone-coded file at real-time pace into `earshot serve --engine script`, a
 * jsonl file sink) while one client reads everything and another hangs. To
 * push megabytes through the streams in a second, the test also publishes a
 * burst of large finals of a pipeline named `burst` into the service's
 * transcript hub, the way every pipeline runner does. The hung client is
 * disconnected and counted; the healthy one and the file sink get every
 * final; the hung one, reconnecting with Last-Event-ID, is told of the gap
 * and given the finals the service still keeps.
 */
import { expect } from 'chai';
import { join } from 'node:path';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import type { Service } from '../../src/service/service.js';
import { MAX_UNREAD_BYTES } from '../../src/service/event-stream.js';
import { FINALS_HISTORY } from '../../src/service/transcript-hub.js';
import { idNumber, readFinals, SseClient } from '../support/sse-client.js';
import { transcriptEvent } from '../support/sink-events.js';
import { runPipeline, startWatchedServer, toneAudioFor, toneScript, waitUntil, withTempDir, type WatchedServer } from '../transport/harness.js';
import { sample, scrape } from './harness.js';

const SCRIPT = toneScript(4);
const BURST_TEXT = 'burst '.repeat(170);

describe('earshot run: a stalled /events client', function () {
  this.timeout(60000);
  let server: WatchedServer;

  before(async () => {
    server = await startWatchedServer(SCRIPT);
  });

  after(async () => {
    await server?.close();
  });

  it('is disconnected and counted; the others and the file sink miss nothing; it resumes after the gap', async () => {
    await withTempDir('earshot-stalled-', async (dir) => {
      let healthy: SseClient | undefined;
      const figures: Record<string, number> = {};
      const during = async (service: Service): Promise<void> => {
        await waitUntil(() => service.httpUrl !== undefined, 'the HTTP endpoint');
        const url = service.httpUrl as string;
        healthy = await SseClient.connect(`${url}/events`);
        const stalled = await SseClient.connect(`${url}/events`, {}, { stalled: true });
        await waitUntil(() => (healthy?.parsed('final').length ?? 0) >= 1, 'a first final of the pipeline');

        // A burst of 1 KiB finals, a few hundred per turn of the event loop, until the stalled client is let go.
        let burst = 0;
        let dropped = 0;
        while (dropped === 0 && burst < 40000) {
          for (let i = 0; i < 200; i++) service.transcripts.publish(transcriptEvent(++burst, { pipeline: 'burst', text: BURST_TEXT }));
          await new Promise((resolve) => setImmediate(resolve));
          dropped = sample(await scrape(url), 'earshot_event_streams_dropped_total') ?? 0;
        }
        figures.burst = burst;
        const metrics = await scrape(url);
        expect(sample(metrics, 'earshot_event_streams_dropped_total')).to.equal(1);
        expect(sample(metrics, 'earshot_event_streams'), 'the healthy client is still connected').to.equal(1);

        // The hung client, reading again, gets what its socket held, then the end of the stream.
        stalled.resume();
        await stalled.closed;
        const lastSeen = stalled.lastEventId as string;
        figures.stalledGot = stalled.messages.length;
        await waitUntil(() => healthy?.parsed('final').some((e) => e.$id === `${lastSeen}`) ?? false, 'the healthy client to catch up');
        const upToLastSeen = (healthy).messages.filter((m) => idNumber(m.id) <= idNumber(lastSeen)).map((m) => m.id);
        const got = stalled.messages.map((m) => m.id);
        const differs = got.findIndex((id, i) => id !== upToLastSeen[i]);
        expect({ differs, got: got.length }, 'what it got is what the healthy client got').to.deep.equal({ differs: -1, got: upToLastSeen.length });

        // Reconnecting after more than the history's worth of finals: a gap, then the finals kept.
        expect(burst - figures.stalledGot).to.be.greaterThan(FINALS_HISTORY);
        const again = await SseClient.connect(`${url}/events?finals=1`, { 'last-event-id': lastSeen });
        await waitUntil(() => again.messages.length >= FINALS_HISTORY + 1, 'the replay');
        again.close();
        expect(again.messages[0]?.event).to.equal('gap');
        const replayed = again.messages.slice(1).map((m) => m.id);
        expect(new Set(replayed).size, 'no final twice').to.equal(replayed.length);
        // Live finals may follow the replay; the replay itself is the last FINALS_HISTORY finals when it connected.
        const healthyFinals = (healthy).parsed('final').map((e) => e.$id);
        const at = healthyFinals.indexOf(replayed[0]);
        expect(idNumber(replayed[0])).to.be.greaterThan(idNumber(lastSeen));
        expect(replayed.slice(0, FINALS_HISTORY), `${FINALS_HISTORY} finals kept, in order`).to.deep.equal(healthyFinals.slice(at, at + FINALS_HISTORY));
      };

      const run = await runPipeline({
        dir,
        audio: toneAudioFor(SCRIPT),
        url: server.server.url,
        transcriber: 'params: { format_turns: true }',
        service: 'http: { port: 0 }',
        during,
      });
      expect(run.exitCode).to.equal(0);
      await healthy?.closed;
      // The pipeline went on as if nothing happened: the file sink and the healthy client have every final.
      const written = await readFinals(join(dir, 'transcript-meeting.jsonl'));
      expect(written.map((e) => e.text)).to.deep.equal(SCRIPT.turns.map((t) => t.text));
      const streamed = (healthy as SseClient).parsed<TranscriptEvent>('final').filter((e) => e.pipeline === 'meeting');
      expect(streamed.map((e) => [e.seq, e.text])).to.deep.equal(written.map((e) => [e.seq, e.text]));
      console.log(
        `      stalled client let go after ${figures.burst} burst finals (~${((figures.burst ?? 0) / 1024).toFixed(1)} MiB; bound ${MAX_UNREAD_BYTES / 1024 / 1024} MiB unread beyond the sockets); ` +
          `it had read ${figures.stalledGot} events`,
      );
    });
  });
});
