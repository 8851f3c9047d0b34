/**
 * A Server-Sent Events client over node:http, parsing the stream as the
 * EventSource spec does (fields id/event/data, comments, blank-line
 * dispatch), and keeping everything it saw for tests to inspect.
 */
import { readFile } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import type { TranscriptEvent } from '../../src/model/transcript.js';

/** The number in an /events id `<run>-<n>` (NaN for anything else). */
export const idNumber = (id: string | undefined): number => Number(/^[0-9a-z]+-(\d+)$/.exec(id ?? '')?.[1] ?? NaN);

/** The finals a jsonl file sink wrote. */
export async function readFinals(path: string): Promise<TranscriptEvent[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as TranscriptEvent)
    .filter((event) => event.final);
}

export interface SseMessage {
  /** The last id seen so far, as EventSource keeps it. */
  id: string | undefined;
  event: string;
  data: string;
}

export class SseClient {
  readonly messages: SseMessage[] = [];
  comments = 0;
  /** As EventSource keeps it: updated when an event is dispatched (a block cut short by a disconnect does not count). */
  lastEventId: string | undefined;
  private idBuffer: string | undefined;
  /** Resolves when the stream ends, whichever side ended it. */
  readonly closed: Promise<void>;
  private buffer = '';
  private pending: { event: string; data: string[] } = { event: 'message', data: [] };

  private constructor(readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (text: string) => this.feed(text));
    this.closed = new Promise((resolve) => response.once('close', resolve));
    response.on('error', () => undefined);
  }

  /**
   * Connects; resolves once the response headers are in (any status).
   * `stalled`: reads nothing more until resume(), like a client that hangs.
   */
  static connect(url: string, headers: Record<string, string> = {}, options: { stalled?: boolean } = {}): Promise<SseClient> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (response) => {
        const client = new SseClient(response);
        if (options.stalled) response.pause();
        resolve(client);
      });
      req.on('error', reject);
      req.end();
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** Messages of one type, their data parsed as JSON. */
  parsed<T = Record<string, unknown>>(event?: string): (T & { $id: string | undefined; $event: string })[] {
    return this.messages
      .filter((m) => event === undefined || m.event === event)
      .map((m) => ({ ...(JSON.parse(m.data) as T), $id: m.id, $event: m.event }));
  }

  resume(): void {
    this.response.resume();
  }

  close(): void {
    this.response.destroy();
  }

  private feed(text: string): void {
    this.buffer += text;
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\n|\r/)) >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + (this.buffer.startsWith('\r\n', newline) ? 2 : 1));
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      this.lastEventId = this.idBuffer;
      if (this.pending.data.length > 0) this.messages.push({ id: this.lastEventId, event: this.pending.event, data: this.pending.data.join('\n') });
      this.pending = { event: 'message', data: [] };
      return;
    }
    if (line.startsWith(':')) {
      this.comments++;
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.pending.event = value;
    else if (field === 'data') this.pending.data.push(value);
    else if (field === 'id') this.idBuffer = value;
  }
}
