/**
 * The webhook sink's dead-letter file: requests the endpoint rejected for
 * good (a redirect, a 4xx other than 408/429), kept so no transcribed turn is
 * lost silently. `rejected.jsonl` in the spool directory, one JSON line per
 * request:
 *
 *   {"time", "url" (credentials redacted), "status", "response" (the first
 *    1 KiB of the response body), "webhook_id", "events", "headers" (the
 *    webhook-id, -timestamp and -signature of the rejected attempt),
 *    "payload" (the request body exactly as sent, as a string)}
 *
 * Each line is one write() on an O_APPEND descriptor, fsynced before the
 * spool forgets the request's turns; a torn tail left by a crash is cut off
 * when the file is opened (torn-tail.ts), so a reader never sees half a line.
 * A crash between the fsync and the spool's removal sends the request again
 * at the next start, so a line may repeat: the webhook id tells repeats apart.
 * The file is bounded: a line that would take it past `maxBytes` is not
 * written, and append() says so.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { repairTornTail } from '../torn-tail.js';

export const DEAD_LETTER_FILE = 'rejected.jsonl';
/** How much of the response body is kept: enough for an error message or a problem+json document. */
export const RESPONSE_SNIPPET_BYTES = 1024;

export interface RejectedRequest {
  time: string;
  url: string;
  status: number;
  response: string;
  webhook_id: string;
  events: number;
  headers: Record<string, string>;
  payload: string;
}

export class DeadLetterFile {
  private constructor(
    readonly path: string,
    private readonly maxBytes: number,
    private readonly fh: FileHandle,
    private size: number,
    /** Bytes an earlier crash left half-written and open() cut off. */
    readonly repairedBytes: number,
  ) {}

  /** Opens (creating) `rejected.jsonl` in `dir`, after cutting off a torn tail. */
  static async open(dir: string, maxBytes: number): Promise<DeadLetterFile> {
    const path = join(dir, DEAD_LETTER_FILE);
    const fh = await open(path, 'a');
    try {
      const { removedBytes, size } = await repairTornTail(path, '\n');
      return new DeadLetterFile(path, maxBytes, fh, size, removedBytes);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  get bytes(): number {
    return this.size;
  }

  /** Durably appends one line; `full` (nothing written) when it would pass the bound. */
  async append(request: RejectedRequest): Promise<'written' | 'full'> {
    const line = Buffer.from(`${JSON.stringify(request)}\n`);
    if (this.size + line.length > this.maxBytes) return 'full';
    const before = this.size;
    try {
      let done = 0;
      while (done < line.length) {
        const { bytesWritten } = await this.fh.write(line, done, line.length - done, null);
        done += bytesWritten;
      }
      await this.fh.datasync();
    } catch (err) {
      // Cut a partial line back off, so the next one starts on a line of its own.
      await this.fh.truncate(before).catch(() => undefined);
      throw err;
    }
    this.size += line.length;
    return 'written';
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** The first RESPONSE_SNIPPET_BYTES of a response body, never splitting a character. */
export function responseSnippet(text: string): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= RESPONSE_SNIPPET_BYTES) return text;
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, RESPONSE_SNIPPET_BYTES)).replace(/\uFFFD$/, '');
}
