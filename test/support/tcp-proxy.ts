/**
 * A TCP proxy on loopback between a client and a server, for network faults
 * a server cannot make on its own: an outage (connections cut and refused for
 * a while), and a peer that stops reading or reads slowly (the client's data
 * backs up in the kernel and then in its own send buffer).
 */
import net from 'node:net';

export class TcpProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private refusing = false;
  /** Bytes per second the proxy reads from clients; undefined: as fast as they come; 0: not at all. */
  private readRate: number | undefined;
  private readTimer: NodeJS.Timeout | undefined;
  /** Client-to-server bytes forwarded. */
  bytesUp = 0;
  connections = 0;
  /** Connections reset on arrival while refusing. */
  refused = 0;

  private constructor(
    readonly port: number,
    server: net.Server,
  ) {
    this.server = server;
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpProxy((server.address() as net.AddressInfo).port, server);
    server.on('connection', (client) => proxy.accept(client, targetPort, targetHost));
    return proxy;
  }

  /** The ws:// URL of the server behind, with this proxy's port. */
  url(serverUrl: string): string {
    const url = new URL(serverUrl);
    url.port = String(this.port);
    return url.toString();
  }

  /** Destroys every connection now (the peers see a reset). */
  cut(): void {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
  }

  /** While on, new connections are reset as soon as they arrive. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Limits how fast client bytes are read (and so forwarded): 0 stops reading; undefined reads freely. */
  limitUpstream(bytesPerSecond: number | undefined): void {
    this.readRate = bytesPerSecond;
    clearInterval(this.readTimer);
    this.readTimer = undefined;
    if (bytesPerSecond === undefined) {
      for (const pair of this.pairs) this.pull(pair.client, pair.upstream);
      return;
    }
    if (bytesPerSecond === 0) return;
    const tickMs = 50;
    const perTick = Math.max(1, Math.round((bytesPerSecond * tickMs) / 1000));
    this.readTimer = setInterval(() => {
      for (const pair of this.pairs) {
        // read(n) gives n bytes once that many are buffered; read() whatever is there.
        const chunk = (pair.client.read(Math.min(perTick, pair.client.readableLength)) as Buffer | null);
        if (chunk) this.forward(pair.upstream, chunk);
      }
    }, tickMs);
  }

  async close(): Promise<void> {
    clearInterval(this.readTimer);
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket, port: number, host: string): void {
    if (this.refusing) {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    this.connections++;
    const upstream = net.connect(port, host);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const end = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    upstream.on('data', (data: Buffer) => client.write(data));
    // Paused mode: bytes leave the socket only when pulled, so a limit holds them in the kernel.
    client.on('readable', () => this.pull(client, upstream));
  }

  private pull(client: net.Socket, upstream: net.Socket): void {
    if (this.readRate !== undefined) return;
    for (let chunk = client.read() as Buffer | null; chunk !== null; chunk = client.read() as Buffer | null) this.forward(upstream, chunk);
  }

  private forward(upstream: net.Socket, data: Buffer): void {
    this.bytesUp += data.length;
    upstream.write(data);
  }
}
