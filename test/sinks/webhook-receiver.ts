/**
 * A real HTTP receiver on loopback for the webhook tests: answers from a
 * script, verifies every signature with the `standardwebhooks` package, and
 * plays the application behind it, which dedupes by webhook-id.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

export type Reply = { status: number; headers?: Record<string, string>; body?: string; /** the application handled it before failing */ processed?: boolean } | 'hang';

export interface ReceivedRequest {
  at: number;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  reply: Reply;
  /** undefined when the signature verified, else the library's complaint. */
  signatureError: string | undefined;
}

export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** What the application kept: first delivery per webhook-id, in arrival order. */
  readonly processed = new Map<string, unknown>();
  /** Replies used in order (a function is called when its request arrives); after them, `fallback`. */
  script: (Reply | (() => Reply))[] = [];
  fallback: (body: string) => Reply = () => ({ status: 200 });
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly verifier: Webhook;

  constructor(secret: string | Uint8Array, raw = false) {
    this.verifier = raw ? new Webhook(secret, { format: 'raw' }) : new Webhook(secret);
  }

  async listen(port = 0): Promise<number> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const next = this.script.shift();
        const reply = next === undefined ? this.fallback(body) : typeof next === 'function' ? next() : next;
        let signatureError: string | undefined;
        try {
          this.verifier.verify(body, req.headers as Record<string, string>);
        } catch (err) {
          signatureError = (err as Error).message;
        }
        this.requests.push({ at: performance.now(), url: req.url ?? '', headers: req.headers, body, reply, signatureError });
        if (reply === 'hang') return;
        const id = req.headers['webhook-id'];
        if ((reply.status < 300 || reply.processed) && typeof id === 'string' && !this.processed.has(id)) this.processed.set(id, JSON.parse(body));
        res.writeHead(reply.status, reply.headers).end(reply.body ?? '');
      });
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
    this.server = server;
    const address = server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((done) => server.close(() => done()));
  }

  /** Polls until `predicate` holds; fails with `what` after `timeoutMs`. */
  async waitFor(predicate: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!predicate()) {
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((done) => setTimeout(done, 20));
    }
  }
}

/** A loopback port nothing listens on (yet): connecting to it is refused. */
export async function freePort(): Promise<number> {
  const probe = new TestReceiver('whsec_AAAA');
  const port = await probe.listen(0);
  await probe.close();
  return port;
}
