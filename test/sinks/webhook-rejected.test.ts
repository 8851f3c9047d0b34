import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import type { WebhookSinkConfig } from '../../src/config/schema.js';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import { pickEvent } from '../../src/sinks/formats/jsonl.js';
import { createWebhookSink, type WebhookSink } from '../../src/sinks/webhook.js';
import { finalTurn, SENTENCES, testContext, type TestContext } from './helpers.js';
import { TestReceiver } from './webhook-receiver.js';

interface RejectedLine {
  time: string;
  url: string;
  status: number;
  response: string;
  webhook_id: string;
  events: number;
  headers: Record<string, string>;
  payload: string;
}

function turn(seq: number): TranscriptEvent {
  return finalTurn(SENTENCES[seq % SENTENCES.length]!, seq * 5000, { seq, turn_order: seq });
}

const REPLAY = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples/webhook/replay-rejected.mjs');

const FAST: Partial<WebhookSinkConfig> = { retry_initial_delay_ms: 20, retry_max_delay_ms: 3000, timeout_ms: 2000 };

async function readRejected(path: string): Promise<RejectedLine[]> {
  const text = await readFile(path, 'utf8');
  expect(text.endsWith('\n'), 'only whole lines').to.equal(true);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as RejectedLine);
}

describe('webhook sink: rejected requests (rejected.jsonl)', function () {
  this.timeout(30000);
  let ctx: TestContext;
  let receiver: TestReceiver;
  const sinks: WebhookSink[] = [];
  const secret = `whsec_${randomBytes(24).toString('base64')}`;

  beforeEach(async () => {
    ctx = await testContext('webhook#1');
    receiver = new TestReceiver(secret);
  });
  afterEach(async () => {
    for (const sink of sinks.splice(0)) await sink.stop();
    await receiver.close();
    await ctx.cleanup();
  });

  function sink(options: Partial<WebhookSinkConfig>): WebhookSink {
    const created = createWebhookSink({ secret, ...FAST, ...options }, ctx);
    sinks.push(created);
    return created;
  }

  it('keeps each rejected request (400, 401, 301) exactly as sent, replayable, and delivers the turns after it', async () => {
    const problem = `{"title":"bad field","detail":"${'x'.repeat(3000)}"}`;
    receiver.script = [
      { status: 400, body: problem },
      { status: 200 },
      { status: 401, body: 'no' },
      { status: 301, headers: { location: 'http://elsewhere/' } },
      { status: 200 },
    ];
    const port = await receiver.listen();
    const webhook = sink({ url: `http://alice:s3cret@127.0.0.1:${port}/in?token=abc123` });
    await webhook.start();
    for (let seq = 0; seq < 5; seq++) await webhook.write(turn(seq));
    await receiver.waitFor(() => receiver.requests.length === 5 && webhook.stats.spoolEvents === 0, 'five requests');

    expect([...receiver.processed.values()].map((b) => (b as { data: TranscriptEvent }).data.seq)).to.deep.equal([1, 4]);
    expect(webhook.stats).to.include({ rejectedRequests: 3, rejectedEvents: 3, deadLetteredEvents: 3, droppedEvents: 0, deliveredEvents: 2, retries: 0 });

    const path = join(ctx.stateDir, 'spool', 'rejected.jsonl');
    const lines = await readRejected(path);
    expect(lines.map((l) => l.status)).to.deep.equal([400, 401, 301]);
    const sent = [0, 2, 3].map((i) => receiver.requests[i]!);
    for (const [i, line] of lines.entries()) {
      const request = sent[i]!;
      expect(line.payload, 'the exact body').to.equal(request.body);
      expect((JSON.parse(line.payload) as { data: unknown }).data).to.deep.equal(pickEvent(turn([0, 2, 3][i]!)));
      expect(line.webhook_id).to.equal(request.headers['webhook-id']);
      expect(line.headers).to.deep.equal({
        'content-type': 'application/json',
        'webhook-id': request.headers['webhook-id'],
        'webhook-timestamp': request.headers['webhook-timestamp'],
        'webhook-signature': request.headers['webhook-signature'],
      });
      // A receiver's own library accepts the saved request as it stands.
      expect(new Webhook(secret).verify(line.payload, line.headers)).to.deep.equal(JSON.parse(line.payload));
      expect(line.url).to.equal(`http://127.0.0.1:${port}/in?token=REDACTED`);
      expect(line.events).to.equal(1);
      expect(Date.parse(line.time)).to.be.closeTo(Date.now(), 60_000);
    }
    expect(Buffer.byteLength(lines[0]!.response)).to.equal(1024);
    expect(problem.startsWith(lines[0]!.response)).to.equal(true);
    expect(lines[1]!.response).to.equal('no');
    const text = await readFile(path, 'utf8');
    expect(text).not.to.contain('s3cret');
    expect(text).not.to.contain('abc123');

    const errors = ctx.logs.filter((l) => l.level === 50);
    expect(errors).to.have.length(3);
    expect(errors[0]).to.include({ status: 400, rejected_file: path, url: `http://127.0.0.1:${port}/in?token=REDACTED` });
    expect(errors[0]!.msg).to.match(/kept in the rejected file/);

    // Replaying a line is POSTing its payload with its headers (the docs' snippet, within the timestamp tolerance).
    const replay = await fetch(`http://127.0.0.1:${port}/in`, { method: 'POST', headers: lines[0]!.headers, body: lines[0]!.payload });
    expect(replay.status).to.equal(200);
    expect(receiver.requests.at(-1)!.signatureError).to.equal(undefined);
    expect(receiver.processed.has(lines[0]!.webhook_id)).to.equal(true);
  });

  it('stops writing at rejected_max_bytes: later rejected turns are dropped, counted and logged once', async () => {
    receiver.fallback = () => ({ status: 422, body: 'unprocessable' });
    const port = await receiver.listen();
    const webhook = sink({ url: `http://127.0.0.1:${port}/`, rejected_max_bytes: 4096 });
    await webhook.start();
    // Turns of one size, so the file fills up in order.
    for (let seq = 0; seq < 12; seq++) await webhook.write(finalTurn(SENTENCES[1]!, seq * 5000, { seq, turn_order: seq }));
    await receiver.waitFor(() => receiver.requests.length === 12 && webhook.stats.spoolEvents === 0, 'twelve requests');

    const path = join(ctx.stateDir, 'spool', 'rejected.jsonl');
    const lines = await readRejected(path);
    const { size } = await stat(path);
    const { deadLetteredEvents, droppedEvents, rejectedEvents } = webhook.stats;
    expect(size).to.be.at.most(4096);
    expect(size + size / lines.length, 'one more line would not fit').to.be.greaterThan(4096);
    expect(lines).to.have.length(deadLetteredEvents);
    expect(deadLetteredEvents).to.be.within(1, 11);
    expect(droppedEvents).to.equal(12 - deadLetteredEvents);
    expect(rejectedEvents).to.equal(12);
    expect(lines.map((l) => (JSON.parse(l.payload) as { data: TranscriptEvent }).data.seq)).to.deep.equal([...Array(deadLetteredEvents).keys()]);
    const full = ctx.logs.filter((l) => l.msg.includes('rejected file is full'));
    expect(full).to.have.length(1);
    expect(full[0]).to.include({ rejected_max_bytes: 4096, rejected_file: path });
  });

  it('cuts off a line an earlier crash left half-written before adding to the file', async () => {
    const spool = join(ctx.stateDir, 'spool');
    await mkdir(spool, { recursive: true });
    const earlier = '{"time":"2026-01-01T00:00:00.000Z","status":400,"payload":"{}"}\n';
    await writeFile(join(spool, 'rejected.jsonl'), `${earlier}{"time":"2026-01-01T00:00:01.000Z","stat`);
    receiver.fallback = () => ({ status: 404 });
    const port = await receiver.listen();
    const webhook = sink({ url: `http://127.0.0.1:${port}/` });
    await webhook.start();
    await webhook.write(turn(0));
    await receiver.waitFor(() => webhook.stats.deadLetteredEvents === 1, 'the rejected turn');
    const lines = await readRejected(join(spool, 'rejected.jsonl'));
    expect(lines).to.have.length(2);
    expect(lines[0]!.status).to.equal(400);
    expect(lines[1]).to.include({ status: 404, payload: receiver.requests[0]!.body });
    expect(ctx.logs.find((l) => l.msg.includes('incomplete line'))).to.include({ removed_bytes: Buffer.byteLength(`{"time":"2026-01-01T00:00:01.000Z","stat`) });
  });

  it('examples/webhook/replay-rejected.mjs sends the saved payloads again, signed afresh, and they are accepted', async () => {
    receiver.script = [{ status: 400 }, { status: 400 }];
    const port = await receiver.listen();
    const webhook = sink({ url: `http://127.0.0.1:${port}/in` });
    await webhook.start();
    for (let seq = 0; seq < 2; seq++) await webhook.write(turn(seq));
    await receiver.waitFor(() => webhook.stats.deadLetteredEvents === 2, 'two rejected turns');
    const path = join(ctx.stateDir, 'spool', 'rejected.jsonl');
    const saved = await readRejected(path);

    const { stdout } = await promisify(execFile)(process.execPath, [REPLAY, path, `http://127.0.0.1:${port}/in`], {
      env: { ...process.env, WEBHOOK_SECRET: secret },
      timeout: 10000,
    });
    expect(stdout.trim().split('\n')).to.deep.equal(saved.map((l) => `${l.webhook_id} 200`));
    const replayed = receiver.requests.slice(2);
    expect(replayed.map((r) => r.body)).to.deep.equal(saved.map((l) => l.payload));
    expect(replayed.map((r) => r.signatureError)).to.deep.equal([undefined, undefined]);
    expect([...receiver.processed.keys()]).to.deep.equal(saved.map((l) => l.webhook_id));
  });

  it('keeps a rejected request spooled while rejected.jsonl cannot be written, and saves it once it can', async () => {
    const spool = join(ctx.stateDir, 'spool');
    const blocked = join(spool, 'rejected.jsonl');
    await mkdir(blocked, { recursive: true }); // a directory where the file should be: every open fails
    receiver.fallback = () => ({ status: 403 });
    const port = await receiver.listen();
    const webhook = sink({ url: `http://127.0.0.1:${port}/`, retry_max_delay_ms: 100 });
    await webhook.start();
    await webhook.write(turn(0));
    await receiver.waitFor(() => receiver.requests.length >= 2, 'the request sent again');
    expect(webhook.stats).to.include({ spoolEvents: 1, deadLetteredEvents: 0, droppedEvents: 0 });
    expect(ctx.logs.find((l) => l.level === 50)?.msg).to.match(/delivery resumes after a pause/);

    await rmdir(blocked);
    await receiver.waitFor(() => webhook.stats.deadLetteredEvents === 1, 'the rejected turn saved');
    expect(webhook.stats).to.include({ spoolEvents: 0, droppedEvents: 0 });
    const [line] = await readRejected(blocked);
    expect((JSON.parse(line!.payload) as { data: unknown }).data).to.deep.equal(pickEvent(turn(0)));
  });
});
