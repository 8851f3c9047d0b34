/**
 * Cuts a stream of samples (already in the pipeline's format) into the ring's
 * fixed-size frames, numbering each frame by its position in the pipeline's
 * audio: frame `seq` holds samples seq * frameSamples onwards. Audio that was
 * lost (a device overflow, a restart) keeps its place on that timeline: the
 * frames it covers entirely are never written, so their sequence numbers are
 * missing downstream; a frame it covers in part is written with silence where
 * the audio is missing, so the audio around a gap stays exactly where it was
 * captured. Each gap is reported with the sequence numbers it touches.
 */
import type { FrameRing } from './ring.js';

export interface CaptureGap {
  /** Why the audio is missing, in words: `capture restarted`, `ring full (drop_oldest)`... */
  cause: string;
  /** First and last sequence numbers of the frames that miss audio, entirely or in part. */
  fromSeq: number;
  toSeq: number;
  /** Frames never written (whole frames inside the gap). */
  missingFrames: number;
  lostMs: number;
}

export interface AssemblerStats {
  framesWritten: number;
  /** Frames the ring's overflow policy discarded. */
  framesDropped: number;
  /** Samples known lost before reaching the ring (device overflow, restarts). */
  samplesLost: number;
}

export interface AssemblerEvents {
  /** Audio lost before the ring: a restart, an overflow. */
  onGap?(gap: CaptureGap): void;
  /** The ring's overflow policy discarded the frame numbered `seq`. */
  onRingDrop?(seq: number): void;
}

export class FrameAssembler {
  private readonly pending: Int16Array;
  private pendingCount = 0;
  private nextSeq = 0;
  private lastSampleTimeMs: number | undefined;
  private resumeCause: string | undefined;
  readonly stats: AssemblerStats = { framesWritten: 0, framesDropped: 0, samplesLost: 0 };

  constructor(
    private readonly ring: FrameRing,
    private readonly events: AssemblerEvents = {},
  ) {
    this.pending = new Int16Array(ring.frameSamples);
    // A ring that was written before (the audio host restarted): go on from there.
    const { nextSeq, lastCaptureTimeMs } = ring.producerPosition;
    if (nextSeq > 0 && !Number.isNaN(lastCaptureTimeMs)) {
      this.nextSeq = nextSeq;
      this.lastSampleTimeMs = lastCaptureTimeMs;
      this.resumeCause = 'the audio host restarted';
    }
  }

  /** The sequence number the next frame will carry. */
  get seq(): number {
    return this.nextSeq;
  }

  /** Samples placed on the timeline so far (written, pending, or lost). */
  get position(): number {
    return this.nextSeq * this.ring.frameSamples + this.pendingCount;
  }

  /**
   * The next samples come from a new stream (the source was restarted): the
   * audio between the last sample so far and the first new one, measured by
   * their capture times, is a gap.
   */
  resumeAfterBreak(cause: string): void {
    this.resumeCause = cause;
  }

  /**
   * Adds samples whose last one was captured at `lastSampleTimeMs`
   * (monotonic clock); writes every frame they complete.
   */
  push(samples: Int16Array, lastSampleTimeMs: number): void {
    if (samples.length === 0) return;
    const msPerSample = 1000 / this.ring.sampleRate;
    if (this.resumeCause !== undefined && this.lastSampleTimeMs !== undefined) {
      const firstSampleTimeMs = lastSampleTimeMs - (samples.length - 1) * msPerSample;
      const lost = Math.round((firstSampleTimeMs - this.lastSampleTimeMs) / msPerSample) - 1;
      if (lost > 0) this.gap(lost, this.resumeCause);
    }
    this.resumeCause = undefined;
    this.lastSampleTimeMs = lastSampleTimeMs;
    const frameSamples = this.ring.frameSamples;
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(frameSamples - this.pendingCount, samples.length - offset);
      this.pending.set(samples.subarray(offset, offset + take), this.pendingCount);
      this.pendingCount += take;
      offset += take;
      if (this.pendingCount === frameSamples) {
        this.emit(this.pending, lastSampleTimeMs - (samples.length - offset) * msPerSample);
        this.pendingCount = 0;
      }
    }
  }

  /** Records `lostSamples` of audio that never arrived, at the current position. */
  gap(lostSamples: number, cause: string): void {
    if (lostSamples <= 0) return;
    const frameSamples = this.ring.frameSamples;
    const fromSeq = this.nextSeq;
    const end = this.position + lostSamples;
    let missingFrames = 0;
    if (this.pendingCount > 0) {
      // Silence completes the frame in progress (or fills the gap, if it ends inside it).
      const fill = Math.min(frameSamples - this.pendingCount, lostSamples);
      this.pending.fill(0, this.pendingCount, this.pendingCount + fill);
      this.pendingCount += fill;
      if (this.pendingCount === frameSamples) {
        this.emit(this.pending, (this.lastSampleTimeMs ?? 0) + (fill * 1000) / this.ring.sampleRate);
        this.pendingCount = 0;
      }
    }
    if (this.pendingCount === 0) {
      missingFrames = Math.floor((end - this.nextSeq * frameSamples) / frameSamples);
      this.nextSeq += missingFrames;
      this.pendingCount = end - this.nextSeq * frameSamples;
      this.pending.fill(0, 0, this.pendingCount);
    }
    this.stats.samplesLost += lostSamples;
    // The last frame touched is the one the audio resumes in (or the last one skipped).
    const toSeq = this.pendingCount > 0 ? this.nextSeq : this.nextSeq - 1;
    this.events.onGap?.({ cause, fromSeq, toSeq, missingFrames, lostMs: (lostSamples * 1000) / this.ring.sampleRate });
  }

  /** Writes the final partial frame, if any (end of a file). */
  flush(lastSampleTimeMs: number): void {
    if (this.pendingCount > 0) {
      this.emit(this.pending.subarray(0, this.pendingCount), lastSampleTimeMs);
      this.pendingCount = 0;
    }
  }

  private emit(frame: Int16Array, captureTimeMs: number): void {
    const seq = this.nextSeq++;
    const outcome = this.ring.write(frame, seq, captureTimeMs);
    if (outcome !== 'dropped_newest') this.stats.framesWritten++;
    if (outcome === 'written') return;
    this.stats.framesDropped++;
    this.events.onRingDrop?.(this.ring.lastDroppedSeq);
  }
}
