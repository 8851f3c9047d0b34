/**
 * A plain `ws` client for tests of `earshot serve`: records every frame (raw
 * and parsed) with its arrival time, and the close code and reason.
 */
import WebSocket from 'ws';

export interface ReceivedFrame {
  /** ms since the socket opened */
  atMs: number;
  raw: string;
  /** undefined when the frame is not JSON */
  message: Record<string, unknown> | undefined;
}

export interface ClosedEvent {
  code: number;
  reason: string;
  atMs: number;
}

export interface ConnectOptions {
  /** Sent as the raw Authorization header; null: no header at all. Default 'test-key'. */
  apiKey?: string | null;
  /** Query parameters; default { sample_rate: 16000 }. */
  params?: Record<string, string | number | boolean | readonly string[]>;
  /** Extra query text appended as is (e.g. repeated names). */
  rawQuery?: string;
  ca?: Buffer;
}

export function streamingUrl(base: string, options: ConnectOptions = {}): string {
  const url = new URL(base);
  const params = options.params ?? { sample_rate: 16000 };
  for (const [name, value] of Object.entries(params)) {
    url.searchParams.set(name, Array.isArray(value) ? JSON.stringify(value) : String(value));
  }
  const extra = options.rawQuery ?? '';
  return extra === '' ? url.toString() : `${url.toString()}${url.search === '' ? '?' : '&'}${extra}`;
}

export class V3TestClient {
  readonly frames: ReceivedFrame[] = [];
  readonly closed: Promise<ClosedEvent>;
  private openedAt = Date.now();
  private closedEvent: ClosedEvent | undefined;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        this.closedEvent = { code, reason: reason.toString(), atMs: Date.now() - this.openedAt };
        resolve(this.closedEvent);
        this.wake();
      });
    });
    socket.on('message', (data, isBinary) => {
      const raw = isBinary ? '<binary>' : (data as Buffer).toString('utf8');
      let message: Record<string, unknown> | undefined;
      try {
        message = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        message = undefined;
      }
      this.frames.push({ atMs: Date.now() - this.openedAt, raw, message });
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** Connects and resolves once the WebSocket is open (before Begin). */
  static connect(base: string, options: ConnectOptions = {}): Promise<V3TestClient> {
    const apiKey = options.apiKey === undefined ? 'test-key' : options.apiKey;
    const socket = new WebSocket(streamingUrl(base, options), {
      headers: apiKey === null ? {} : { Authorization: apiKey },
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    });
    const client = new V3TestClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => {
        client.openedAt = Date.now();
        resolve(client);
      });
      socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
      socket.once('error', reject);
    });
  }

  /** Connects, waits for Begin. */
  static async begin(base: string, options: ConnectOptions = {}): Promise<V3TestClient> {
    const client = await V3TestClient.connect(base, options);
    await client.waitForType('Begin');
    return client;
  }

  messages(type?: string): Record<string, unknown>[] {
    return this.frames
      .map((frame) => frame.message)
      .filter((message): message is Record<string, unknown> => message !== undefined && (type === undefined || message.type === type));
  }

  types(): string[] {
    return this.frames.map((frame) => (frame.message === undefined ? '<not json>' : String(frame.message.type)));
  }

  isClosed(): boolean {
    return this.closedEvent !== undefined;
  }

  /** Resolves when `predicate` holds for a frame received so far (or later); rejects after the timeout or on close. */
  waitFor(predicate: (message: Record<string, unknown>) => boolean, timeoutMs = 3000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.messages().find(predicate);
        if (found !== undefined) {
          finish();
          resolve(found);
          return true;
        }
        if (this.closedEvent !== undefined) {
          finish();
          reject(new Error(`closed (${this.closedEvent.code} ${this.closedEvent.reason}) before the awaited message; got ${this.types().join(', ')}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no awaited message within ${timeoutMs} ms; got ${this.types().join(', ')}`));
      }, timeoutMs);
      const waiter = (): void => void check();
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      if (!check()) this.waiters.add(waiter);
    });
  }

  waitForType(type: string, timeoutMs = 3000): Promise<Record<string, unknown>> {
    return this.waitFor((message) => message.type === type, timeoutMs);
  }

  async waitClosed(timeoutMs = 3000): Promise<ClosedEvent> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.closed,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms; got ${this.types().join(', ')}`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  sendAudio(chunk: Buffer): void {
    this.socket.send(chunk, { binary: true });
  }

  sendJson(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  sendText(text: string): void {
    this.socket.send(text);
  }

  /** Sends chunks at `speed` times real time; stops early if the socket closes. */
  async streamPaced(chunks: readonly Buffer[], sampleRate: number, speed = 1): Promise<void> {
    const started = Date.now();
    let audioMs = 0;
    for (const chunk of chunks) {
      if (this.socket.readyState !== WebSocket.OPEN) return;
      this.sendAudio(chunk);
      audioMs += (chunk.length / 2 / sampleRate) * 1000;
      const wait = started + audioMs / speed - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  close(): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close();
  }

  terminate(): void {
    this.socket.terminate();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
