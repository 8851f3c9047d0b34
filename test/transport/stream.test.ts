/**
 * TranscriptionStream's sending policy, with a session whose socket queue the
 * test sets: nothing is sent while the queue is above its cap (5 s of audio),
 * sending resumes when it drains, and the backlog bounds what waits meanwhile.
 */
import { expect } from 'chai';
import pino from 'pino';
import { TranscriptionStream, type TranscriptionSession } from '../../src/transport/stream.js';
import type { SessionListeners } from '../../src/transport/v3-session.js';

const RATE = 16000;
const FRAME = 800; // 50 ms
const CAP_BYTES = 5 * RATE * 2;

class QueueSession implements TranscriptionSession {
  readonly id = 'queue-session';
  readonly begin = { expires_at: Date.now() / 1000 + 3600 };
  bufferedAmount = 0;
  isOpen = true;
  readonly sent: number[] = [];
  sendAudio(chunk: Uint8Array): void {
    this.sent.push(chunk.byteLength);
  }
  forceEndpoint(): void {}
  updateConfiguration(): void {}
  terminate(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
  close(): void {
    this.isOpen = false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('transcription stream: socket backpressure', () => {
  it('stops sending while the socket queue is over its cap, resumes when it drains, and the backlog drops its oldest audio meanwhile', async () => {
    const session = new QueueSession();
    let listeners: SessionListeners | undefined;
    const stream = new TranscriptionStream({
      pipeline: 'p',
      sampleRate: RATE,
      frameSamples: FRAME,
      bufferSeconds: 2,
      connect: (l) => {
        listeners = l;
        return Promise.resolve(session);
      },
      formatTurns: false,
      reconnect: { max_attempts: 1, initial_delay_ms: 10, max_delay_ms: 10 },
      terminationTimeoutMs: 100,
      lookaheadMs: 60000,
      confirmAfterMs: Infinity,
      logger: pino({ level: 'silent' }),
      onEvent: () => undefined,
      onStatus: () => undefined,
    });
    stream.start();
    await sleep(10);
    expect(listeners).to.not.equal(undefined);
    let seq = 0;
    const push = (frames: number): void => {
      for (let i = 0; i < frames; i++, seq++) {
        const buffer = stream.backlog.borrow();
        stream.backlog.append(seq, 0, buffer);
        stream.frameAdded(seq);
      }
    };
    push(10);
    expect(session.sent.length, 'sent while the queue is empty').to.equal(10);
    session.bufferedAmount = CAP_BYTES + 1;
    push(60); // 3 s of audio arrive while the queue is full
    expect(session.sent.length, 'nothing sent over the cap').to.equal(10);
    const stats = stream.snapshotStats();
    expect(stats.peakBufferedBytes).to.equal(CAP_BYTES + 1);
    expect(stream.backlog.size, 'the backlog holds at most buffer_seconds').to.equal(40);
    // 70 frames for 40 places: the 10 sent ones go first, then the 20 oldest unsent.
    expect([stats.droppedUnconfirmed, stats.droppedUnsent], 'every drop counted').to.deep.equal([10, 20]);
    session.bufferedAmount = 0;
    await sleep(120);
    const bytes = session.sent.reduce((sum, n) => sum + n, 0);
    expect(bytes / 2, 'the 40 waiting frames went out once the queue drained').to.equal((10 + 40) * FRAME);
    stream.stop();
  });
});
