/**
 * Just enough of AssemblyAI's v3 streaming protocol for pipeline tests, on a
 * real loopback WebSocket: Begin on connect, one final Turn for every
 * `turnEveryMs` of audio received (words placed on the session's audio
 * clock), Termination and a normal close after Terminate. It counts the
 * audio bytes it receives, so a test can tell whether any audio was lost.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface SentTurn {
  turnOrder: number;
  text: string;
}

export class V3TurnServer {
  audioBytes = 0;
  sessions = 0;
  readonly turns: SentTurn[] = [];

  private constructor(
    private readonly server: WebSocketServer,
    private readonly turnEveryMs: number,
  ) {
    server.on('connection', (socket, request) => this.serve(socket, new URL(request.url ?? '/', 'ws://localhost')));
  }

  static async start(turnEveryMs: number): Promise<V3TurnServer> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/v3/ws' });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    return new V3TurnServer(server, turnEveryMs);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/v3/ws`;
  }

  async close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: WebSocket, url: URL): void {
    this.sessions++;
    const sampleRate = Number(url.searchParams.get('sample_rate') ?? 16000);
    const startedAt = Date.now();
    let sessionBytes = 0;
    let turnOrder = 0;
    socket.send(JSON.stringify({ type: 'Begin', id: randomUUID(), expires_at: Math.floor(Date.now() / 1000) + 3600 }));
    socket.on('message', (data, isBinary) => {
      if (isBinary) {
        const bytes = (data as Buffer).length;
        sessionBytes += bytes;
        this.audioBytes += bytes;
        const audioMs = (sessionBytes / 2 / sampleRate) * 1000;
        while (audioMs >= (turnOrder + 1) * this.turnEveryMs) this.sendTurn(socket, turnOrder++);
        return;
      }
      const message = JSON.parse((data as Buffer).toString('utf8')) as { type: string };
      if (message.type === 'Terminate') {
        socket.send(JSON.stringify({
          type: 'Termination',
          audio_duration_seconds: sessionBytes / 2 / sampleRate,
          session_duration_seconds: (Date.now() - startedAt) / 1000,
        }));
        socket.close(1000);
      }
    });
  }

  private sendTurn(socket: WebSocket, turnOrder: number): void {
    const start = turnOrder * this.turnEveryMs + 10;
    const end = (turnOrder + 1) * this.turnEveryMs - 10;
    const middle = Math.round((start + end) / 2);
    const text = `turn ${turnOrder}`;
    this.turns.push({ turnOrder, text });
    socket.send(JSON.stringify({
      type: 'Turn',
      turn_order: turnOrder,
      turn_is_formatted: false,
      end_of_turn: true,
      transcript: text,
      end_of_turn_confidence: 0.9,
      words: [
        { text: 'turn', start, end: middle, confidence: 0.9, word_is_final: true },
        { text: String(turnOrder), start: middle, end, confidence: 0.9, word_is_final: true },
      ],
    }));
  }
}
