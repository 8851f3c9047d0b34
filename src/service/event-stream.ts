/**
 * GET /events: the transcript as Server-Sent Events, for other programs and
 * the /captions page. One event per transcript event:
 *
 *   id: <run>-<n>          the hub's number, prefixed by the service run
 *   event: partial|final|speaker_revision
 *   data: {...}            the jsonl fields (pickEvent, pickRevision), on one line
 *
 * A client that reconnects with Last-Event-ID gets the finals it missed that
 * the hub still keeps (an `event: gap` first when some are gone), never one
 * twice. A client that stops reading is never waited for: what it has not
 * taken piles up in its own socket buffer, and past a bound it is
 * disconnected (it may resume with Last-Event-ID) and counted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import { isSpeakerRevision } from '../model/transcript.js';
import { pickEvent, pickRevision } from '../sinks/formats/jsonl.js';
import type { EventsParams } from './caption-params.js';
import type { EventStreamMetrics } from './metrics.js';
import type { HubEntry, TranscriptHub } from './transcript-hub.js';

export const HEARTBEAT_MS = 15000;
/** What one client may leave unread before it is disconnected (some seconds of busy speech, with words). */
export const MAX_UNREAD_BYTES = 1024 * 1024;
/** Streams open at once; more are refused (503) so clients cannot grow memory without bound. */
export const MAX_STREAMS = 64;
/** How soon EventSource clients retry after the stream ends (the service stopping or restarting). */
const RETRY_MS = 2000;

export interface EventStreamOptions {
  hub: TranscriptHub;
  /** Applied to every event's data: no secret leaves by HTTP. */
  scrub: (text: string) => string;
  metrics: EventStreamMetrics;
  logger?: Logger;
  heartbeatMs?: number;
  maxUnreadBytes?: number;
  maxStreams?: number;
}

export class EventStreams {
  private readonly open = new Set<() => void>();
  /** Each entry formatted once, whoever it goes to. */
  private readonly formatted = new WeakMap<HubEntry, string>();
  private readonly logger: Logger;

  constructor(private readonly options: EventStreamOptions) {
    this.logger = options.logger ?? pino({ level: 'silent' });
  }

  handle(request: IncomingMessage, response: ServerResponse, params: EventsParams): void {
    if (this.open.size >= (this.options.maxStreams ?? MAX_STREAMS)) {
      response.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' }).end(`too many event streams open (${this.open.size}); try again later\n`);
      return;
    }
    const { hub, metrics } = this.options;
    const maxUnread = this.options.maxUnreadBytes ?? MAX_UNREAD_BYTES;
    const wanted = (entry: HubEntry): boolean =>
      (!params.finalsOnly || isSpeakerRevision(entry.event) || entry.event.final) && (params.pipelines === undefined || params.pipelines.includes(entry.event.pipeline));

    // connection: close, so ending the stream closes the socket too and a stopping server is not held open.
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      connection: 'close',
    });
    const write = (text: string): void => {
      if (response.destroyed || response.writableEnded) return;
      response.write(text);
      if (response.writableLength > maxUnread) {
        metrics.dropped.inc();
        this.logger.warn({ unread_bytes: response.writableLength, remote: request.socket.remoteAddress }, 'an /events client fell too far behind; disconnected (it may resume with Last-Event-ID)');
        response.destroy();
      }
    };
    const send = (entry: HubEntry): void => {
      if (!wanted(entry)) return;
      write(this.format(entry));
      metrics.sent.inc();
    };

    const { replay, unsubscribe } = hub.subscribe(send, this.resumeAfter(request.headers['last-event-id']));
    write(`: earshot transcript events\nretry: ${RETRY_MS}\n\n`);
    if (replay.incomplete) write(`event: gap\ndata: ${JSON.stringify({ reason: 'some finals since Last-Event-ID are no longer kept' })}\n\n`);
    for (const entry of replay.finals) send(entry);

    const heartbeat = setInterval(() => write(': keep-alive\n\n'), this.options.heartbeatMs ?? HEARTBEAT_MS);
    const end = (): void => {
      if (!response.writableEnded) response.end();
    };
    this.open.add(end);
    metrics.streams.inc();
    response.once('close', () => {
      unsubscribe();
      clearInterval(heartbeat);
      this.open.delete(end);
      metrics.streams.dec();
    });
  }

  /** Ends every stream (the server is closing); clients see the stream end and may reconnect elsewhere. */
  endAll(): void {
    for (const end of [...this.open]) end();
  }

  private format(entry: HubEntry): string {
    let text = this.formatted.get(entry);
    if (text === undefined) {
      const event = entry.event;
      const [kind, data] = isSpeakerRevision(event) ? ['speaker_revision', pickRevision(event)] : [event.final ? 'final' : 'partial', pickEvent(event)];
      text = `id: ${this.options.hub.epoch}-${entry.id}\nevent: ${kind}\ndata: ${this.options.scrub(JSON.stringify(data))}\n\n`;
      this.formatted.set(entry, text);
    }
    return text;
  }

  /** The hub id to resume after: this run's id as given; any id of another run: from the start of what is kept; none or malformed: live only. */
  private resumeAfter(header: string | string[] | undefined): number | undefined {
    const match = typeof header === 'string' ? /^([0-9a-z]+)-(\d+)$/.exec(header.trim()) : null;
    if (!match) return undefined;
    return match[1] === this.options.hub.epoch ? Number(match[2]) : 0;
  }
}
