/**
 * The /events stream on its own, on a real loopback server: heartbeats on a
 * quiet stream, no listener left behind by clients that go away, and the
 * cap on open streams.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkEventsParams } from '../../src/service/caption-params.js';
import { EventStreams } from '../../src/service/event-stream.js';
import { ServiceMetrics } from '../../src/service/metrics.js';
import { TranscriptHub } from '../../src/service/transcript-hub.js';
import { SseClient } from '../support/sse-client.js';
import { transcriptEvent } from '../support/sink-events.js';
import { waitFor } from './harness.js';

describe('/events streams', () => {
  let server: Server;
  let url: string;
  let hub: TranscriptHub;
  let streams: EventStreams;
  let metrics: ServiceMetrics;

  beforeEach(async () => {
    hub = new TranscriptHub();
    metrics = new ServiceMetrics(() => []);
    streams = new EventStreams({ hub, scrub: (text) => text, metrics: metrics.eventStreams, heartbeatMs: 50, maxStreams: 3 });
    server = createServer((request, response) => {
      const checked = checkEventsParams(new URLSearchParams(''));
      if (checked.ok) streams.handle(request, response, checked.params);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  });

  afterEach(async () => {
    streams.endAll();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends heartbeat comments on a quiet stream', async () => {
    const client = await SseClient.connect(url);
    await waitFor(() => client.comments >= 4, 'heartbeats', 5000);
    expect(client.messages).to.deep.equal([]);
    client.close();
  });

  it('leaves no listener behind when clients go away, and refuses streams past the cap', async () => {
    const clients = await Promise.all([1, 2, 3].map(() => SseClient.connect(url)));
    expect(hub.listenerCount).to.equal(3);
    const refused = await SseClient.connect(url);
    expect(refused.status).to.equal(503);
    hub.publish(transcriptEvent(1));
    await waitFor(() => clients.every((c) => c.messages.length === 1), 'the event at every client', 5000);
    for (const client of clients) client.close();
    await waitFor(() => hub.listenerCount === 0, 'every listener removed', 5000);
    expect((await metrics.registry.getSingleMetricAsString('earshot_event_streams')).trim().split('\n').at(-1)).to.equal('earshot_event_streams 0');
    // The hub goes on publishing to nobody.
    hub.publish(transcriptEvent(2));
  });

  it('ends every stream at once when the server closes', async () => {
    const client = await SseClient.connect(url);
    await waitFor(() => hub.listenerCount === 1, 'the stream open', 5000);
    streams.endAll();
    await client.closed;
    expect(hub.listenerCount).to.equal(0);
  });
});
