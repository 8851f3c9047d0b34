/**
 * The frame ring: how captured audio leaves the capture thread. One producer
 * (the audio host) and one consumer (the pipeline's transport worker) share a
 * SharedArrayBuffer of fixed-size frame slots; indices and wake-ups are
 * Atomics, so a frame crosses threads without a message or a copy per frame.
 *
 * The producer never waits. When the ring is full its policy decides:
 * drop_newest discards the frame being written, drop_oldest discards the
 * oldest unread one. Either way the drop is counted here and every frame keeps
 * its sequence number, so the consumer sees exactly where audio is missing.
 *
 * Layout: Int32 header (its second half: the producer's Float64 state) |
 * Float64 meta (seq, capture time) per slot | Int32 sample count per slot |
 * Int16 samples per slot. Indices are Int32 counters that wrap; the slot
 * count is a power of two so `index & mask` stays right across the wrap.
 *
 * The producer's state (the next sequence number, the capture time of the
 * last frame) lives in the ring too, so a producer restarted in a new thread
 * (the audio host crashed) goes on numbering where the old one stopped.
 */
import type { OverflowPolicy } from '../pipeline/bounded-queue.js';

const H_WRITE = 0;
const H_READ = 1;
const H_FLAGS = 2;
const H_DROPPED = 3;
const H_CAPACITY = 4;
const H_FRAME_SAMPLES = 5;
const H_SAMPLE_RATE = 6;
const H_POLICY = 7;
/** Bumped by every event a waiting reader must see (a frame, the end, a wake-up): the word it waits on. */
const H_SIGNAL = 12;
const HEADER_INTS = 16;
/** Float64 slots over header ints 8..11. */
const P_NEXT_SEQ = 0;
const P_LAST_CAPTURE_MS = 1;
const PRODUCER_STATE_OFFSET = 32;

const FLAG_CLOSED = 1;

const POLICY_CODES: Record<OverflowPolicy, number> = { drop_oldest: 0, drop_newest: 1 };

export interface RingOptions {
  /** Minimum number of frames the ring holds; rounded up to a power of two. */
  capacityFrames: number;
  frameSamples: number;
  sampleRate: number;
  policy: OverflowPolicy;
}

/** A frame as the consumer sees it; `samples` is the consumer's own buffer. */
export interface RingFrame {
  seq: number;
  /** Monotonic milliseconds (see monotonicMs) when the frame's last sample was captured. */
  captureTimeMs: number;
  samples: Int16Array;
}

export type WriteOutcome = 'written' | 'dropped_newest' | 'dropped_oldest';

/** The shared memory and its geometry; both sides build a view from the same buffer. */
export class FrameRing {
  readonly header: Int32Array;
  private readonly producerState: Float64Array;
  private readonly meta: Float64Array;
  private readonly counts: Int32Array;
  private readonly pcm: Int16Array;
  readonly capacity: number;
  readonly frameSamples: number;
  readonly sampleRate: number;
  readonly policy: OverflowPolicy;
  private readonly mask: number;
  /** Producer side: the sequence number of the frame the last dropping write discarded. */
  lastDroppedSeq = -1;

  static create(options: RingOptions): FrameRing {
    const capacity = nextPowerOfTwo(Math.max(2, Math.ceil(options.capacityFrames)));
    const bytes = FrameRing.byteLength(capacity, options.frameSamples);
    const header = new Int32Array(new SharedArrayBuffer(bytes), 0, HEADER_INTS);
    header[H_CAPACITY] = capacity;
    header[H_FRAME_SAMPLES] = options.frameSamples;
    header[H_SAMPLE_RATE] = options.sampleRate;
    header[H_POLICY] = POLICY_CODES[options.policy];
    const ring = new FrameRing(header.buffer);
    ring.producerState[P_LAST_CAPTURE_MS] = NaN;
    return ring;
  }

  static byteLength(capacity: number, frameSamples: number): number {
    return HEADER_INTS * 4 + capacity * 2 * 8 + capacity * 4 + capacity * frameSamples * 2;
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, HEADER_INTS);
    this.producerState = new Float64Array(buffer, PRODUCER_STATE_OFFSET, 2);
    this.capacity = this.header[H_CAPACITY] as number;
    this.frameSamples = this.header[H_FRAME_SAMPLES] as number;
    this.sampleRate = this.header[H_SAMPLE_RATE] as number;
    this.policy = this.header[H_POLICY] === POLICY_CODES.drop_newest ? 'drop_newest' : 'drop_oldest';
    this.mask = this.capacity - 1;
    let offset = HEADER_INTS * 4;
    this.meta = new Float64Array(buffer, offset, this.capacity * 2);
    offset += this.capacity * 2 * 8;
    this.counts = new Int32Array(buffer, offset, this.capacity);
    offset += this.capacity * 4;
    this.pcm = new Int16Array(buffer, offset, this.capacity * this.frameSamples);
  }

  /** Frames written but not yet read. */
  get fill(): number {
    return (Atomics.load(this.header, H_WRITE) - Atomics.load(this.header, H_READ)) | 0;
  }

  /** Frames the overflow policy discarded, since creation. */
  get dropped(): number {
    return Atomics.load(this.header, H_DROPPED);
  }

  get closed(): boolean {
    return (Atomics.load(this.header, H_FLAGS) & FLAG_CLOSED) !== 0;
  }

  /** Where the last producer stopped: the next sequence number, and the capture time of its last frame (NaN: none yet). */
  get producerPosition(): { nextSeq: number; lastCaptureTimeMs: number } {
    return { nextSeq: this.producerState[P_NEXT_SEQ] as number, lastCaptureTimeMs: this.producerState[P_LAST_CAPTURE_MS] as number };
  }

  /** Producer side: store one frame (at most frameSamples samples). Never blocks. */
  write(samples: Int16Array, seq: number, captureTimeMs: number): WriteOutcome {
    if (samples.length > this.frameSamples) {
      throw new RangeError(`frame of ${samples.length} samples exceeds the ring's ${this.frameSamples}`);
    }
    this.producerState[P_NEXT_SEQ] = seq + 1;
    this.producerState[P_LAST_CAPTURE_MS] = captureTimeMs;
    const h = this.header;
    const w = Atomics.load(h, H_WRITE);
    let outcome: WriteOutcome = 'written';
    const r = Atomics.load(h, H_READ);
    if (((w - r) | 0) >= this.capacity) {
      if (this.policy === 'drop_newest') {
        Atomics.add(h, H_DROPPED, 1);
        this.lastDroppedSeq = seq;
        return 'dropped_newest';
      }
      // Take the oldest frame away from the reader. If the reader moved first
      // there is room now and nothing is lost.
      const oldestSeq = this.meta[(r & this.mask) * 2] as number;
      if (Atomics.compareExchange(h, H_READ, r, (r + 1) | 0) === r) {
        Atomics.add(h, H_DROPPED, 1);
        this.lastDroppedSeq = oldestSeq;
        outcome = 'dropped_oldest';
      }
    }
    const slot = w & this.mask;
    this.meta[slot * 2] = seq;
    this.meta[slot * 2 + 1] = captureTimeMs;
    this.counts[slot] = samples.length;
    this.pcm.set(samples, slot * this.frameSamples);
    Atomics.store(h, H_WRITE, (w + 1) | 0);
    this.signalReader();
    return outcome;
  }

  /** Producer side: no more frames will come; the reader drains what is left. */
  close(): void {
    Atomics.or(this.header, H_FLAGS, FLAG_CLOSED);
    this.signalReader();
  }

  /** Producer side: a restarted producer clears the end-of-stream mark. */
  reopen(): void {
    Atomics.and(this.header, H_FLAGS, ~FLAG_CLOSED);
  }

  /**
   * Consumer side: copy the oldest unread frame into `into` (which must hold
   * frameSamples) and return it, or null when the ring is empty.
   */
  read(into: Int16Array): RingFrame | null {
    const h = this.header;
    for (;;) {
      const r = Atomics.load(h, H_READ);
      if (r === Atomics.load(h, H_WRITE)) return null;
      const slot = r & this.mask;
      const seq = this.meta[slot * 2] as number;
      const captureTimeMs = this.meta[slot * 2 + 1] as number;
      const count = this.counts[slot] as number;
      const start = slot * this.frameSamples;
      into.set(this.pcm.subarray(start, start + count));
      // If the producer dropped this frame while we copied, the copy may be torn: try the next one.
      if (Atomics.compareExchange(h, H_READ, r, (r + 1) | 0) === r) {
        Atomics.notify(h, H_READ);
        return { seq, captureTimeMs, samples: into.subarray(0, count) };
      }
    }
  }

  /**
   * Consumer side: resolves when a frame may be readable, the ring closes,
   * wakeReader is called, or after timeoutMs (default: no timeout).
   */
  async waitForFrame(timeoutMs?: number): Promise<void> {
    const h = this.header;
    // Read the signal before looking: a frame or the end that lands after the look changes it, so the wait returns at once.
    const signal = Atomics.load(h, H_SIGNAL);
    if (Atomics.load(h, H_WRITE) !== Atomics.load(h, H_READ) || this.closed) return;
    const result = Atomics.waitAsync(h, H_SIGNAL, signal, timeoutMs);
    if (result.async) await result.value;
  }

  /** Consumer side: wakes a reader waiting in waitForFrame, so it can see it has been told to stop. */
  wakeReader(): void {
    this.signalReader();
  }

  private signalReader(): void {
    Atomics.add(this.header, H_SIGNAL, 1);
    Atomics.notify(this.header, H_SIGNAL);
  }

  /** Producer side (files read as fast as consumed): resolves when the reader frees a slot, or after timeoutMs. */
  async waitForSpace(timeoutMs: number): Promise<void> {
    const h = this.header;
    const r = Atomics.load(h, H_READ);
    if (((Atomics.load(h, H_WRITE) - r) | 0) < this.capacity) return;
    const result = Atomics.waitAsync(h, H_READ, r, timeoutMs);
    if (result.async) await result.value;
  }
}

function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}
