/**
 * The webhook sink: final turns (and partials when asked) POSTed as JSON,
 * signed per Standard Webhooks, delivered at least once, in order, across
 * endpoint outages and restarts.
 *
 * write() resolves once the event is durably in the spool (webhook/spool.ts).
 * One delivery loop sends from the spool's head, one request at a time, and
 * removes what was delivered. A request that fails with a network error, a
 * timeout, 408, 429 or 5xx is retried (the same body under the same
 * webhook-id) after an exponential backoff with full jitter, or after the
 * Retry-After of a 429 or 503 (up to retry_max_delay_ms); retries go on while
 * the events wait in the spool. Redirects and other 4xx are not retried: the
 * request is written to `rejected.jsonl` in the spool directory (with its
 * status, the response's start, the webhook headers and the exact body; see
 * webhook/dead-letter.ts), counted and logged with the status, the URL
 * (credentials stripped) and that file. The file is bounded by
 * rejected_max_bytes; past it, rejected turns are dropped, counted and logged.
 *
 * Body. With batch_max_events 1 (the default), one event per request:
 *   {"type":"transcript.final"|"transcript.partial","timestamp":<received_at>,"data":<event>}
 * A speaker revision of turns already sent (diarization) is an event of its own, under its own id:
 *   {"type":"transcript.speaker_revision","timestamp":<received_at>,"data":<revision, as its jsonl line>}
 * With more, up to batch_max_events per request, sent when that many are
 * spooled or the oldest has waited batch_timeout_ms:
 *   {"type":"transcript.batch","timestamp":<sealed at>,"data":{"events":[{"id":..., <the single form>}, ...]}}
 * Headers: webhook-id (the event's id, stable across retries and restarts;
 * for a batch, an id derived from its events' ids), webhook-timestamp (the
 * attempt's time, Unix seconds), webhook-signature (`v1,<base64 HMAC>`, when a
 * secret is set), plus `headers` from the options.
 *
 * Spool bound: spool_max_bytes. An event that would pass it is dropped and
 * counted (droppedEvents), with an error log at most every 10 s; what is
 * already spooled is kept, so the receiver sees the oldest turns of an outage.
 *
 * stop() sends what is spooled while the endpoint accepts it, for at most
 * timeout_ms; the first failure, or the end of that time (the request in
 * flight is then aborted), leaves the rest spooled for the next start.
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebhookSink as WebhookSinkSchema, type WebhookSinkConfig } from '../config/schema.js';
import { isSpeakerRevision, type PipelineEvent, type SpeakerRevisionEvent, type TranscriptEvent } from '../model/transcript.js';
import { deadline } from '../pipeline/deadline.js';
import { SinkConfigError, SinkIoError } from './errors.js';
import { pickEvent, pickRevision } from './formats/jsonl.js';
import { resolveOptions } from './options.js';
import type { Sink, SinkContext } from './sink.js';
import { redactUrl } from './webhook/redact.js';
import { DEAD_LETTER_FILE, DeadLetterFile, responseSnippet } from './webhook/dead-letter.js';
import { backoffDelay, judgeStatus, type Verdict } from './webhook/retry.js';
import { sign, signingKey } from './webhook/signature.js';
import { Spool, type SpoolEntry } from './webhook/spool.js';

export interface WebhookSinkStats {
  /** Events written to the spool by this instance. */
  spooledEvents: number;
  /** Events the endpoint accepted (2xx). */
  deliveredEvents: number;
  deliveredRequests: number;
  /** Attempts that failed and were tried again. */
  retries: number;
  /** Requests the endpoint rejected for good (redirect, 4xx other than 408/429). */
  rejectedRequests: number;
  rejectedEvents: number;
  /** Rejected events kept in rejected.jsonl (a part of rejectedEvents). */
  deadLetteredEvents: number;
  /** Events lost: spool full, an unreadable spool entry, or rejected while rejected.jsonl was full. */
  droppedEvents: number;
  /** What waits in the spool now. */
  spoolEvents: number;
  spoolBytes: number;
}

export interface WebhookSinkDeps {
  /** Wall clock in ms (webhook-timestamp, Retry-After dates). */
  now?: () => number;
  /** Uniform in [0, 1): the jitter source. */
  random?: () => number;
}

interface Batch {
  id: string;
  first: number;
  last: number;
  events: number;
  body: Buffer;
}

const DROP_LOG_INTERVAL_MS = 10_000;
const BODY_SNIPPET_CHARS = 200;
/** What rejected.jsonl keeps of a request's headers: what a receiver verifies; never credentials. */
const WEBHOOK_HEADERS = ['content-type', 'webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

export function createWebhookSink(options: Partial<WebhookSinkConfig>, context: SinkContext, deps: WebhookSinkDeps = {}): WebhookSink {
  return new WebhookSink(options, context, deps);
}

export class WebhookSink implements Sink {
  private readonly options: WebhookSinkConfig;
  private readonly endpoint: string;
  private readonly logUrl: string;
  private readonly authorization: string | undefined;
  private readonly key: Buffer | undefined;
  private readonly spoolDir: string;
  private readonly now: () => number;
  private readonly random: () => number;
  private spool: Spool | undefined;
  /** rejected.jsonl, opened at the first rejection. */
  private deadLetters: DeadLetterFile | undefined;
  private lastDeadLetterFullLog = -Infinity;
  private loop: Promise<void> | undefined;
  /** Aborted by stop(): no more waiting for batches or backoffs. */
  private readonly stopping = new AbortController();
  /** Aborted when stop() runs out of time: the request in flight too. */
  private readonly halt = new AbortController();
  /** Wakes the loop when it waits for events. */
  private wake: (() => void) | undefined;
  private lastDropLog = -Infinity;
  private readonly counters: Omit<WebhookSinkStats, 'spoolEvents' | 'spoolBytes'> = {
    spooledEvents: 0,
    deliveredEvents: 0,
    deliveredRequests: 0,
    retries: 0,
    rejectedRequests: 0,
    rejectedEvents: 0,
    deadLetteredEvents: 0,
    droppedEvents: 0,
  };

  constructor(options: Partial<WebhookSinkConfig>, private readonly context: SinkContext, deps: WebhookSinkDeps = {}) {
    this.options = resolveOptions(WebhookSinkSchema, { ...options, type: 'webhook' }, context.name);
    const url = new URL(this.options.url);
    this.logUrl = redactUrl(url);
    if (url.username !== '' || url.password !== '') {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      this.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    this.endpoint = url.href;
    try {
      this.key = this.options.secret === undefined ? undefined : signingKey(this.options.secret);
    } catch (err) {
      throw new SinkConfigError(context.name, 'secret', (err as Error).message);
    }
    this.spoolDir = this.options.spool_dir === undefined ? join(context.stateDir, 'spool') : resolve(context.baseDir, this.options.spool_dir);
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  get stats(): WebhookSinkStats {
    return { ...this.counters, spoolEvents: this.spool?.events ?? 0, spoolBytes: this.spool?.bytes ?? 0 };
  }

  /** Opens the spool (what an earlier run left is sent first) and starts delivering. */
  async start(): Promise<void> {
    try {
      this.spool = await Spool.open(this.spoolDir, this.options.spool_max_bytes, (path, err) => {
        this.counters.droppedEvents += 1;
        this.context.logger.error({ path, err: err.message }, 'unreadable webhook spool entry set aside as .corrupt; its event is not delivered');
      });
    } catch (err) {
      throw new SinkIoError(this.context.name, this.spoolDir, `cannot open the webhook spool: ${(err as Error).message}`, { cause: err });
    }
    if (this.spool.events > 0) {
      this.context.logger.info({ events: this.spool.events, spool: this.spoolDir }, 'delivering turns spooled by an earlier run');
    }
    this.loop = this.deliverForever();
  }

  async write(event: TranscriptEvent): Promise<void> {
    if (!event.final && !this.options.partials) return;
    await this.enqueue(eventId(event), pickEvent(event));
  }

  /** Delivered in order with the turns, as `transcript.speaker_revision`. */
  async revise(event: SpeakerRevisionEvent): Promise<void> {
    await this.enqueue(revisionId(event), pickRevision(event));
  }

  private async enqueue(id: string, event: PipelineEvent): Promise<void> {
    const spool = this.spool;
    if (!spool || this.stopping.signal.aborted) throw new SinkIoError(this.context.name, this.spoolDir, 'write while the webhook sink is not running');
    let outcome: 'spooled' | 'full';
    try {
      outcome = await spool.append(id, event);
    } catch (err) {
      throw new SinkIoError(this.context.name, this.spoolDir, `cannot spool the turn: ${(err as Error).message}`, { cause: err });
    }
    if (outcome === 'full') {
      this.counters.droppedEvents += 1;
      if (this.now() - this.lastDropLog >= DROP_LOG_INTERVAL_MS) {
        this.lastDropLog = this.now();
        this.context.logger.error(
          { url: this.logUrl, spool: this.spoolDir, spool_max_bytes: this.options.spool_max_bytes, dropped_events: this.counters.droppedEvents },
          'webhook spool is full; dropping new turns until the endpoint takes the spooled ones',
        );
      }
      return;
    }
    this.counters.spooledEvents += 1;
    this.wake?.();
  }

  /** Spooled events are already durable. */
  async flush(): Promise<void> {}

  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    if (this.loop) {
      const timer = new AbortController();
      const finished = await Promise.race([
        this.loop.then(() => true),
        sleep(this.options.timeout_ms, false, { signal: timer.signal }).catch(() => false),
      ]);
      timer.abort();
      if (!finished) {
        this.halt.abort();
        await this.loop;
      }
    }
    const left = this.spool?.events ?? 0;
    if (left > 0) this.context.logger.info({ events: left, spool: this.spoolDir }, 'turns left in the webhook spool for the next start');
    await this.spool?.close();
    await this.deadLetters?.close();
    this.deadLetters = undefined;
  }

  private async deliverForever(): Promise<void> {
    for (let spoolFailures = 0; ; ) {
      try {
        const batch = await this.nextBatch();
        if (!batch) return;
        const outcome = await this.deliver(batch);
        if (outcome === 'left') return;
        await (this.spool as Spool).remove(batch.first, batch.last);
        spoolFailures = 0;
      } catch (err) {
        // The spool's disk failed (full, read-only): the turns stay where they are; try again later.
        spoolFailures += 1;
        const delay = backoffDelay(spoolFailures, this.options.retry_initial_delay_ms, this.options.retry_max_delay_ms, this.random);
        this.context.logger.error({ err, spool: this.spoolDir, delay_ms: delay }, 'webhook spool or rejected file error; delivery resumes after a pause');
        await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => undefined);
        if (this.stopping.signal.aborted) return;
      }
    }
  }

  /** The next request to send, once it is due; undefined when stopping and nothing is due. */
  private async nextBatch(): Promise<Batch | undefined> {
    const spool = this.spool as Spool;
    const max = this.options.batch_max_events;
    for (;;) {
      if (this.halt.signal.aborted) return undefined;
      const seal = spool.seal;
      if (seal) {
        const entries = await spool.sealed(seal);
        if (entries.length > 0) return { ...this.batchOf(seal.id, entries, seal.sealed_at), first: seal.first, last: seal.last };
        await spool.remove(seal.first, seal.last);
        continue;
      }
      if (spool.events === 0) {
        if (this.stopping.signal.aborted) return undefined;
        await this.waitForEvents(undefined);
        continue;
      }
      if (max === 1) {
        const [entry] = await spool.head(1);
        if (entry) return this.batchOf(entry.id, [entry], undefined);
        continue;
      }
      const waited = performance.now() - (spool.oldestAppendedAt ?? 0);
      if (spool.events < max && !this.stopping.signal.aborted && waited < this.options.batch_timeout_ms) {
        await this.waitForEvents(this.options.batch_timeout_ms - waited);
        continue;
      }
      const entries = await spool.head(max);
      const first = entries[0];
      const last = entries[entries.length - 1];
      if (!first || !last) continue;
      const sealing = { id: batchId(entries), first: first.seq, last: last.seq, sealed_at: new Date(this.now()).toISOString() };
      await spool.writeSeal(sealing);
      return this.batchOf(sealing.id, entries, sealing.sealed_at);
    }
  }

  private batchOf(id: string, entries: SpoolEntry[], sealedAt: string | undefined): Batch {
    const first = entries[0]?.seq ?? 0;
    const last = entries[entries.length - 1]?.seq ?? -1;
    const payload =
      sealedAt === undefined && entries.length === 1
        ? envelope(entries[0] as SpoolEntry)
        : { type: 'transcript.batch', timestamp: sealedAt, data: { events: entries.map((e) => ({ id: e.id, ...envelope(e) })) } };
    return { id, first, last, events: entries.length, body: Buffer.from(JSON.stringify(payload)) };
  }

  /** Resolves when write() or stop() wakes the loop, or after `ms`. */
  private async waitForEvents(ms: number | undefined): Promise<void> {
    const done = new AbortController();
    const woken = new Promise<void>((wake) => (this.wake = wake));
    const signal = AbortSignal.any([done.signal, this.stopping.signal]);
    const waits = [woken, sleep(ms ?? 2 ** 31 - 1, undefined, { signal }).catch(() => undefined)];
    await Promise.race(waits);
    done.abort();
    this.wake = undefined;
  }

  /** Sends until delivered or rejected; 'left' when stopping interrupted it. */
  private async deliver(batch: Batch): Promise<'delivered' | 'rejected' | 'left'> {
    for (let attempt = 1; ; attempt++) {
      const headers = this.webhookHeaders(batch);
      const outcome = await this.post(batch, headers);
      if (outcome === 'aborted') return 'left';
      const { verdict } = outcome;
      if (verdict.kind === 'delivered') {
        this.counters.deliveredRequests += 1;
        this.counters.deliveredEvents += batch.events;
        return 'delivered';
      }
      if (verdict.kind === 'rejected') {
        await this.setAside(batch, verdict, headers, outcome.response);
        return 'rejected';
      }
      if (this.stopping.signal.aborted) return 'left';
      this.counters.retries += 1;
      const delay =
        verdict.retryAfterMs !== undefined
          ? Math.min(verdict.retryAfterMs, this.options.retry_max_delay_ms)
          : backoffDelay(attempt, this.options.retry_initial_delay_ms, this.options.retry_max_delay_ms, this.random);
      this.context.logger.warn({ url: this.logUrl, reason: verdict.reason, webhook_id: batch.id, attempt, delay_ms: delay }, 'webhook delivery failed; will retry');
      await sleep(delay, undefined, { signal: this.stopping.signal }).catch(() => undefined);
      if (this.stopping.signal.aborted) return 'left';
    }
  }

  /**
   * A rejected request goes to rejected.jsonl before the spool forgets it;
   * when that file is full, its turns are dropped. When it cannot be written
   * (a disk error) this throws: the request stays spooled and the delivery
   * loop sends it again after a pause, as after any spool error.
   */
  private async setAside(batch: Batch, verdict: Verdict & { kind: 'rejected' }, headers: Record<string, string>, response: string): Promise<void> {
    this.counters.rejectedRequests += 1;
    this.counters.rejectedEvents += batch.events;
    const where = { url: this.logUrl, status: verdict.status, webhook_id: batch.id, events: batch.events, reason: verdict.reason };
    const file = join(this.spoolDir, DEAD_LETTER_FILE);
    if ((await this.writeDeadLetter(batch, verdict.status, headers, response)) === 'written') {
      this.counters.deadLetteredEvents += batch.events;
      this.context.logger.error({ ...where, rejected_file: file }, 'webhook endpoint rejected the request; not retried, its turns are kept in the rejected file for replay');
      return;
    }
    this.counters.droppedEvents += batch.events;
    if (this.now() - this.lastDeadLetterFullLog < DROP_LOG_INTERVAL_MS) return;
    this.lastDeadLetterFullLog = this.now();
    this.context.logger.error(
      { ...where, rejected_file: file, rejected_max_bytes: this.options.rejected_max_bytes, dropped_events: this.counters.droppedEvents },
      'webhook endpoint rejected the request and the rejected file is full; its turns are dropped',
    );
  }

  private async writeDeadLetter(batch: Batch, status: number, headers: Record<string, string>, response: string): Promise<'written' | 'full'> {
    if (this.options.rejected_max_bytes === 0) return 'full';
    if (!this.deadLetters) {
      this.deadLetters = await DeadLetterFile.open(this.spoolDir, this.options.rejected_max_bytes).catch((err: Error) => {
        throw new Error(`cannot open the rejected file ${join(this.spoolDir, DEAD_LETTER_FILE)}: ${err.message}`, { cause: err });
      });
      if (this.deadLetters.repairedBytes > 0) {
        this.context.logger.warn({ path: this.deadLetters.path, removed_bytes: this.deadLetters.repairedBytes }, 'removed an incomplete line left at the end of the rejected file by an earlier crash');
      }
    }
    const kept: Record<string, string> = {};
    for (const name of WEBHOOK_HEADERS) if (headers[name] !== undefined) kept[name] = headers[name];
    const file = this.deadLetters;
    return file.append({
      time: new Date(this.now()).toISOString(),
      url: this.logUrl,
      status,
      response: responseSnippet(response),
      webhook_id: batch.id,
      events: batch.events,
      headers: kept,
      payload: batch.body.toString('utf8'),
    }).catch((err: Error) => {
      throw new Error(`cannot write the rejected file ${file.path}: ${err.message}`, { cause: err });
    });
  }

  /** The headers of one attempt: a fresh webhook-timestamp, signed. */
  private webhookHeaders(batch: Batch): Record<string, string> {
    const timestamp = Math.floor(this.now() / 1000);
    const headers: Record<string, string> = {
      ...this.options.headers,
      'content-type': 'application/json',
      'user-agent': 'earshot',
      'webhook-id': batch.id,
      'webhook-timestamp': String(timestamp),
    };
    if (this.key) headers['webhook-signature'] = sign(this.key, batch.id, timestamp, batch.body);
    if (this.authorization) headers.authorization = this.authorization;
    return headers;
  }

  private async post(batch: Batch, headers: Record<string, string>): Promise<{ verdict: Verdict; response: string } | 'aborted'> {
    const timeout = deadline(this.options.timeout_ms);
    const signal = AbortSignal.any([this.halt.signal, timeout.signal]);
    try {
      const response = await fetch(this.endpoint, { method: 'POST', headers, body: batch.body, redirect: 'manual', signal });
      const text = await response.text();
      const verdict = judgeStatus(response.status, response.headers.get('retry-after'), this.now());
      if (verdict.kind === 'rejected' && text !== '') verdict.reason += `: ${text.slice(0, BODY_SNIPPET_CHARS)}`;
      return { verdict, response: text };
    } catch (err) {
      if (this.halt.signal.aborted) return 'aborted';
      return { verdict: { kind: 'retry', reason: describeNetworkError(err) }, response: '' };
    } finally {
      timeout.clear();
    }
  }
}

/** The webhook id of one event: a hash of what identifies it, so a re-spooled copy keeps it. */
export function eventId(event: TranscriptEvent): string {
  const key = [event.pipeline, event.session_id, event.seq, event.turn_order, event.final].join('\n');
  return `msg_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/** A revision's id: its session and the turns (seq) and speakers it sets, never a turn's id. */
export function revisionId(event: SpeakerRevisionEvent): string {
  const revised = event.revisions.map((r) => `${r.seq}:${r.speaker ?? ''}:${r.words.map((w) => w.speaker ?? '').join(',')}`);
  const key = [event.pipeline, event.session_id, 'speaker_revision', event.received_at, ...revised].join('\n');
  return `msg_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

function batchId(entries: SpoolEntry[]): string {
  return `msg_${createHash('sha256').update(entries.map((e) => e.id).join(',')).digest('hex').slice(0, 32)}`;
}

function envelope(entry: SpoolEntry): { type: string; timestamp: string; data: PipelineEvent } {
  const event = entry.event;
  const type = isSpeakerRevision(event) ? 'transcript.speaker_revision' : event.final ? 'transcript.final' : 'transcript.partial';
  return { type, timestamp: event.received_at, data: event };
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'request timed out';
  const cause = err.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? err.message;
}
