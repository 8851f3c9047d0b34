import { expect } from 'chai';
import { Worker } from 'node:worker_threads';
import { FrameRing } from '../../src/capture/ring.js';

function frameOf(value: number, length = 160): Int16Array {
  return new Int16Array(length).fill(value);
}

function drain(ring: FrameRing): { seq: number; first: number; length: number }[] {
  const into = new Int16Array(ring.frameSamples);
  const out: { seq: number; first: number; length: number }[] = [];
  for (let frame = ring.read(into); frame; frame = ring.read(into)) {
    out.push({ seq: frame.seq, first: frame.samples[0] as number, length: frame.samples.length });
  }
  return out;
}

describe('frame ring', () => {
  it('hands frames over in order with their sequence number, capture time and samples', () => {
    const ring = FrameRing.create({ capacityFrames: 8, frameSamples: 160, sampleRate: 16000, policy: 'drop_oldest' });
    for (let i = 0; i < 5; i++) ring.write(frameOf(i * 10), i, 1000 + i);
    ring.write(frameOf(99, 40), 5, 2000);
    const into = new Int16Array(160);
    const first = ring.read(into);
    expect(first).to.deep.include({ seq: 0, captureTimeMs: 1000 });
    expect(Array.from(first?.samples ?? []).every((s) => s === 0)).to.equal(true);
    const rest = drain(ring);
    expect(rest.map((f) => f.seq)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(rest.map((f) => f.first)).to.deep.equal([10, 20, 30, 40, 99]);
    expect(rest[4]?.length, 'a short last frame keeps its length').to.equal(40);
    expect(ring.read(into)).to.equal(null);
  });

  it('rounds its capacity up to a power of two and reports its fill', () => {
    const ring = FrameRing.create({ capacityFrames: 200, frameSamples: 800, sampleRate: 16000, policy: 'drop_newest' });
    expect(ring.capacity).to.equal(256);
    ring.write(frameOf(1, 800), 0, 0);
    ring.write(frameOf(2, 800), 1, 0);
    expect(ring.fill).to.equal(2);
  });

  it('drop_newest: a full ring discards the frames being written and counts each one', () => {
    const ring = FrameRing.create({ capacityFrames: 8, frameSamples: 160, sampleRate: 16000, policy: 'drop_newest' });
    const outcomes = [];
    for (let i = 0; i < 13; i++) outcomes.push(ring.write(frameOf(i), i, 0));
    expect(outcomes.filter((o) => o === 'dropped_newest')).to.have.length(5);
    expect(ring.dropped).to.equal(5);
    expect(drain(ring).map((f) => f.seq)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('drop_oldest: a full ring discards its oldest frames; the gap shows in the sequence numbers', () => {
    const ring = FrameRing.create({ capacityFrames: 8, frameSamples: 160, sampleRate: 16000, policy: 'drop_oldest' });
    for (let i = 0; i < 13; i++) ring.write(frameOf(i), i, 0);
    expect(ring.dropped).to.equal(5);
    const frames = drain(ring);
    expect(frames.map((f) => f.seq)).to.deep.equal([5, 6, 7, 8, 9, 10, 11, 12]);
    expect(frames.map((f) => f.first)).to.deep.equal([5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('keeps working when its 32-bit indices wrap around', () => {
    const ring = FrameRing.create({ capacityFrames: 4, frameSamples: 160, sampleRate: 16000, policy: 'drop_oldest' });
    // Put both indices just below the wrap, as after years of frames.
    ring.header[0] = 2 ** 31 - 3;
    ring.header[1] = 2 ** 31 - 3;
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      ring.write(frameOf(i), i, 0);
      seen.push(...drain(ring).map((f) => f.seq));
    }
    expect(seen).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let i = 10; i < 16; i++) ring.write(frameOf(i), i, 0);
    expect(drain(ring).map((f) => f.seq)).to.deep.equal([12, 13, 14, 15]);
    expect(ring.dropped).to.equal(2);
  });

  it('tells the reader the producer has closed it once drained', async () => {
    const ring = FrameRing.create({ capacityFrames: 4, frameSamples: 160, sampleRate: 16000, policy: 'drop_oldest' });
    ring.write(frameOf(1), 0, 0);
    ring.close();
    expect(ring.closed).to.equal(true);
    await ring.waitForFrame(5000); // returns at once: a frame is ready
    expect(drain(ring)).to.have.length(1);
    const before = Date.now();
    await ring.waitForFrame(5000); // returns at once: closed
    expect(Date.now() - before).to.be.below(1000);
  });

  it('wakes a reader waiting without a timeout when told to stop', async () => {
    const ring = FrameRing.create({ capacityFrames: 4, frameSamples: 160, sampleRate: 16000, policy: 'drop_oldest' });
    let woken = false;
    const waiting = ring.waitForFrame().then(() => (woken = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(woken, 'nothing to read yet').to.equal(false);
    ring.wakeReader();
    await waiting;
    expect(woken).to.equal(true);
  });

  describe('across threads', function () {
    this.timeout(20000);

    it('never leaves a reader waiting after the producer closed the ring (no lost wake-up)', async () => {
      // Thousands of rings each get a frame and then the end from another thread; every reader waits
      // without a timeout, as the transport does. A close that lands between a reader's last look and
      // its wait must still wake it.
      const rings = Array.from({ length: 2000 }, () => FrameRing.create({ capacityFrames: 4, frameSamples: 16, sampleRate: 16000, policy: 'drop_oldest' }));
      const into = new Int16Array(16);
      let ended = 0;
      const readers = rings.map(async (ring) => {
        for (;;) {
          if (ring.read(into)) continue;
          if (ring.closed && ring.fill === 0) return ended++;
          await ring.waitForFrame();
        }
      });
      const keepAlive = setInterval(() => undefined, 1000);
      const closer = new Worker(new URL('../support/ring-closer.js', import.meta.url), { workerData: { rings: rings.map((r) => r.buffer) } });
      try {
        const outcome = await Promise.race([
          Promise.all(readers).then(() => 'every reader ended'),
          new Promise((resolve) => setTimeout(() => resolve(`${rings.length - ended} readers still waiting 10 s later`), 10000)),
        ]);
        expect(outcome).to.equal('every reader ended');
      } finally {
        clearInterval(keepAlive);
        await closer.terminate();
      }
    });

    async function consume(ring: FrameRing, stallAtSeq: number, stallMs: number): Promise<number[]> {
      const into = new Int16Array(ring.frameSamples);
      const seqs: number[] = [];
      for (;;) {
        const frame = ring.read(into);
        if (frame) {
          expect(frame.samples[0], `frame ${frame.seq} carries its own samples`).to.equal(frame.seq % 32768);
          seqs.push(frame.seq);
          if (frame.seq === stallAtSeq) {
            // The main thread blocks hard (no event loop at all), as a slow sink could.
            const until = Date.now() + stallMs;
            while (Date.now() < until) {
              /* busy */
            }
          }
          continue;
        }
        if (ring.closed && ring.fill === 0) return seqs;
        await ring.waitForFrame(1000);
      }
    }

    function produce(ring: FrameRing, frames: number, intervalMs: number): Worker {
      return new Worker(new URL('../support/ring-producer.js', import.meta.url), { workerData: { ring: ring.buffer, frames, intervalMs } });
    }

    it('loses nothing while the consumer stalls for less than the ring holds', async () => {
      const ring = FrameRing.create({ capacityFrames: 200, frameSamples: 160, sampleRate: 16000, policy: 'drop_oldest' });
      const producer = produce(ring, 400, 5); // 2 s of 5 ms frames
      const seqs = await consume(ring, 50, 600); // 120 frames arrive during the stall
      await producer.terminate();
      expect(ring.dropped).to.equal(0);
      expect(seqs).to.deep.equal(Array.from({ length: 400 }, (_, i) => i));
    });

    it('counts exactly the frames a longer stall pushes out, and the gap is where they were', async () => {
      const ring = FrameRing.create({ capacityFrames: 32, frameSamples: 160, sampleRate: 16000, policy: 'drop_oldest' });
      const producer = produce(ring, 300, 5);
      const seqs = await consume(ring, 40, 800); // ~160 frames arrive, 32 fit
      await producer.terminate();
      const missing = 300 - seqs.length;
      expect(missing).to.be.greaterThan(0);
      expect(ring.dropped, 'every missing frame is counted').to.equal(missing);
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).to.be.greaterThan(seqs[i - 1] as number);
      const gapStart = seqs.findIndex((s, i) => i > 0 && s !== (seqs[i - 1] as number) + 1);
      expect(seqs[gapStart - 1], 'the gap opens right after the stall began').to.equal(40);
    });
  });
});
