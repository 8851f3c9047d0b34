import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { WebhookSinkConfig } from '../../src/config/schema.js';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import { SinkConfigError } from '../../src/sinks/errors.js';
import { createWebhookSink, type WebhookSink } from '../../src/sinks/webhook.js';
import { finalTurn, partialTurn, SENTENCES, testContext, type TestContext } from './helpers.js';
import { freePort, TestReceiver } from './webhook-receiver.js';

interface SingleBody {
  type: string;
  timestamp: string;
  data: TranscriptEvent;
}

interface BatchBody {
  type: 'transcript.batch';
  data: { events: (SingleBody & { id: string })[] };
}

const WRITER = fileURLToPath(new URL('./fixtures/webhook-writer.js', import.meta.url));

function turn(seq: number): TranscriptEvent {
  return finalTurn(SENTENCES[seq % SENTENCES.length]!, seq * 5000, { seq, turn_order: seq });
}

/** Fast retries for tests; Retry-After is honoured up to retry_max_delay_ms. */
const FAST: Partial<WebhookSinkConfig> = { retry_initial_delay_ms: 20, retry_max_delay_ms: 3000, timeout_ms: 600 };

describe('webhook sink', function () {
  this.timeout(30000);
  let ctx: TestContext;
  let receiver: TestReceiver | undefined;
  const sinks: WebhookSink[] = [];
  const secret = `whsec_${randomBytes(24).toString('base64')}`;

  beforeEach(async () => {
    ctx = await testContext('webhook#1');
  });
  afterEach(async () => {
    for (const sink of sinks.splice(0)) await sink.stop();
    await receiver?.close();
    receiver = undefined;
    await ctx.cleanup();
  });

  function sink(options: Partial<WebhookSinkConfig>): WebhookSink {
    const created = createWebhookSink({ secret, ...FAST, ...options }, ctx);
    sinks.push(created);
    return created;
  }

  it('delivers every final exactly once, in order, through an outage, a restart, 500s, a timeout and 429/503 with Retry-After', async () => {
    const port = await freePort();
    const url = `http://alice:s3cret@127.0.0.1:${port}/hooks?token=abc123`;

    // The endpoint is down: connections are refused, turns wait in the spool.
    const first = sink({ url });
    await first.start();
    for (let seq = 0; seq < 5; seq++) {
      await first.write(turn(seq));
      await first.write(partialTurn('not sent', seq * 5000, { seq: 100 + seq }));
    }
    await new Promise((done) => setTimeout(done, 300));
    expect(first.stats).to.include({ spooledEvents: 5, deliveredEvents: 0, spoolEvents: 5 });
    expect(first.stats.retries).to.be.greaterThan(0);
    const warning = ctx.logs.find((l) => l.msg.includes('will retry'));
    expect(warning?.reason).to.equal('ECONNREFUSED');
    expect(warning?.url).to.equal(`http://127.0.0.1:${port}/hooks?token=REDACTED`);

    // earshot restarts: a new sink on the same spool takes over.
    await first.stop();
    sinks.splice(sinks.indexOf(first), 1);
    const second = sink({ url });
    await second.start();
    for (let seq = 5; seq < 10; seq++) await second.write(turn(seq));

    // The endpoint comes back, unwell for a while.
    receiver = new TestReceiver(secret);
    receiver.script = [
      'hang',
      { status: 500, processed: true }, // handled, but the answer says otherwise
      { status: 502 },
      { status: 429, headers: { 'retry-after': '1' } },
      // An HTTP date has whole seconds: this one is 2 to 3 s after the reply.
      () => ({ status: 503, headers: { 'retry-after': new Date(Date.now() + 3000).toUTCString() } }),
    ];
    await receiver.listen(port);
    const app = receiver;
    await app.waitFor(() => app.processed.size === 10, 'ten turns');

    const events = [...app.processed.values()].map((b) => (b as SingleBody).data);
    expect(events.map((e) => e.seq)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(events[3]).to.deep.equal(turn(3));
    expect(app.requests.every((r) => r.signatureError === undefined), 'every signature verifies').to.equal(true);
    expect(app.requests.every((r) => r.headers.authorization === `Basic ${Buffer.from('alice:s3cret').toString('base64')}`)).to.equal(true);
    expect(app.requests.every((r) => r.url === '/hooks?token=abc123')).to.equal(true);

    // The first turn was tried six times, always under the same id with the same body.
    const tries = app.requests.filter((r) => (JSON.parse(r.body) as SingleBody).data.seq === 0);
    expect(tries).to.have.length(6);
    expect(new Set(tries.map((r) => r.headers['webhook-id'])).size).to.equal(1);
    expect(new Set(tries.map((r) => r.body)).size).to.equal(1);
    // Retry-After was honoured: a second after the 429, two or more after the 503.
    expect(tries[4]!.at - tries[3]!.at).to.be.at.least(950);
    expect(tries[5]!.at - tries[4]!.at).to.be.at.least(1950);
    expect((JSON.parse(tries[0]!.body) as SingleBody).type).to.equal('transcript.final');
    expect(ctx.logs.some((l) => l.msg.includes('will retry') && l.reason === 'request timed out')).to.equal(true);

    await second.stop();
    sinks.splice(sinks.indexOf(second), 1);
    expect(second.stats).to.include({ deliveredEvents: 10, spoolEvents: 0 });
    expect(await readdir(join(ctx.stateDir, 'spool'))).to.deep.equal([]);
    expect(JSON.stringify(ctx.logs)).not.to.contain('s3cret').and.not.to.contain('abc123').and.not.to.contain(secret);
  });

  it('delivers, after kill -9, every turn whose write() had resolved, in order', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    const child = spawn(process.execPath, [WRITER, JSON.stringify({ baseDir: ctx.dir, stateDir: ctx.stateDir, url, secret })], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
    let acked = -1;
    let killed = false;
    // Keep reading after the kill: the writer may have acknowledged more turns than this side had read by then.
    for await (const line of createInterface({ input: child.stdout })) {
      acked = Number(line);
      if (acked >= 15 && !killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    }
    expect(await exited).to.equal('SIGKILL');

    receiver = new TestReceiver(secret);
    await receiver.listen(port);
    const restarted = sink({ url });
    await restarted.start();
    const app = receiver;
    await app.waitFor(() => restarted.stats.spoolEvents === 0 && app.processed.size > acked, 'the spooled turns');
    const seqs = [...app.processed.values()].map((b) => (b as SingleBody).data.seq);
    expect(seqs.slice(0, acked + 1)).to.deep.equal([...Array(acked + 1).keys()]);
    expect(seqs.length, 'at most the turn in flight besides').to.be.within(acked + 1, acked + 2);
  });

  it('does not retry a 400: counts it, logs status and URL, and goes on with the next turns', async () => {
    receiver = new TestReceiver(secret);
    receiver.fallback = (body) => ((JSON.parse(body) as SingleBody).data.seq === 1 ? { status: 400, body: 'missing field' } : { status: 200 });
    const port = await receiver.listen();
    const webhook = sink({ url: `http://127.0.0.1:${port}/in` });
    await webhook.start();
    for (let seq = 0; seq < 3; seq++) await webhook.write(turn(seq));
    const app = receiver;
    await app.waitFor(() => app.requests.length === 3, 'three requests');
    await new Promise((done) => setTimeout(done, 200));
    expect(app.requests).to.have.length(3);
    expect([...app.processed.values()].map((b) => (b as SingleBody).data.seq)).to.deep.equal([0, 2]);
    expect(webhook.stats).to.include({ rejectedRequests: 1, rejectedEvents: 1, deliveredEvents: 2, retries: 0 });
    const error = ctx.logs.find((l) => l.level === 50);
    expect(error).to.include({ status: 400, url: `http://127.0.0.1:${port}/in` });
    expect(error?.reason).to.equal('HTTP 400: missing field');
  });

  it('batches up to batch_max_events, and resends a batch under the same id after a restart', async () => {
    receiver = new TestReceiver(secret);
    receiver.fallback = () => ({ status: 500 });
    const port = await receiver.listen();
    const url = `http://127.0.0.1:${port}/batch`;
    const first = sink({ url, batch_max_events: 3, batch_timeout_ms: 200 });
    await first.start();
    for (let seq = 0; seq < 4; seq++) await first.write(turn(seq));
    const app = receiver;
    await app.waitFor(() => app.requests.length >= 2, 'retries of the first batch');
    await first.stop();
    sinks.splice(sinks.indexOf(first), 1);
    const before = app.requests[0]!;

    app.fallback = () => ({ status: 200 });
    const second = sink({ url, batch_max_events: 3, batch_timeout_ms: 200 });
    await second.start();
    await second.write(turn(4));
    await app.waitFor(() => app.processed.size === 2, 'two batches');
    const after = app.requests.find((r) => r.reply !== 'hang' && r.reply.status === 200)!;
    expect(after.headers['webhook-id']).to.equal(before.headers['webhook-id']);
    expect(after.body).to.equal(before.body);
    const batches = [...app.processed.values()] as BatchBody[];
    expect(batches.map((b) => b.type)).to.deep.equal(['transcript.batch', 'transcript.batch']);
    expect(batches.map((b) => b.data.events.map((e) => e.data.seq))).to.deep.equal([[0, 1, 2], [3, 4]]);
    expect(new Set(batches.flatMap((b) => b.data.events.map((e) => e.id))).size).to.equal(5);
    expect(app.requests.every((r) => r.signatureError === undefined)).to.equal(true);
  });

  it('bounds the spool: past spool_max_bytes new turns are dropped, counted and logged; the spooled ones still arrive', async () => {
    const port = await freePort();
    const webhook = sink({ url: `http://127.0.0.1:${port}/`, spool_max_bytes: 4096, retry_max_delay_ms: 100 });
    await webhook.start();
    for (let seq = 0; seq < 20; seq++) await webhook.write(turn(seq));
    const { droppedEvents, spoolEvents, spoolBytes } = webhook.stats;
    expect(droppedEvents).to.be.greaterThan(0);
    expect(spoolEvents + droppedEvents).to.equal(20);
    expect(spoolBytes).to.be.at.most(4096);
    expect(ctx.logs.filter((l) => l.msg.includes('spool is full'))).to.have.length(1);
    receiver = new TestReceiver(secret);
    await receiver.listen(port);
    const app = receiver;
    await app.waitFor(() => app.processed.size === spoolEvents, 'the spooled turns');
    expect([...app.processed.values()].map((b) => (b as SingleBody).data.seq)).to.deep.equal([...Array(spoolEvents).keys()]);
  });

  it('sends what is spooled when stopped while the endpoint is well; gives up on a hung one within timeout_ms', async () => {
    receiver = new TestReceiver(secret);
    const port = await receiver.listen();
    const batching = sink({ url: `http://127.0.0.1:${port}/`, batch_max_events: 10, batch_timeout_ms: 60000 });
    await batching.start();
    for (let seq = 0; seq < 3; seq++) await batching.write(turn(seq));
    await batching.stop();
    expect(receiver.processed.size, 'the waiting batch went out at stop').to.equal(1);

    receiver.fallback = () => 'hang';
    const hung = createWebhookSink({ secret, ...FAST, url: `http://127.0.0.1:${port}/`, timeout_ms: 1000 }, { ...ctx, stateDir: join(ctx.dir, 'other') });
    await hung.start();
    await hung.write(turn(7));
    const app = receiver;
    await app.waitFor(() => app.requests.length === 2, 'the hung request');
    await hung.stop();
    expect(hung.stats.spoolEvents, 'left for the next start').to.equal(1);
  });

  it('signs with a raw (non-whsec) secret the way receivers verify it', async () => {
    receiver = new TestReceiver('plain text secret', true);
    const port = await receiver.listen();
    const webhook = sink({ url: `http://127.0.0.1:${port}/`, secret: 'plain text secret' });
    await webhook.start();
    await webhook.write(turn(0));
    const app = receiver;
    await app.waitFor(() => app.requests.length === 1, 'one request');
    expect(app.requests[0]!.signatureError).to.equal(undefined);
  });

  it('refuses a malformed whsec_ secret without echoing it, and a spool another sink holds', async () => {
    expect(() => createWebhookSink({ url: 'http://127.0.0.1:9/', secret: 'whsec_not*base64!' }, ctx))
      .to.throw(SinkConfigError, /webhook#1: secret: .*base64/)
      .with.property('message')
      .that.does.not.contain('not*base64');
    const one = sink({ url: 'http://127.0.0.1:9/' });
    await one.start();
    const two = createWebhookSink({ url: 'http://127.0.0.1:9/' }, ctx);
    try {
      await two.start();
      expect.fail('a second sink on the same spool must not start');
    } catch (err) {
      expect((err as Error).message).to.match(/already used by another sink/);
    }
  });
});
