/**
 * Cuts a stream of samples (already in the pipeline's format) into the ring's
 * fixed-size frames, numbering each frame by its position in the pipeline's
 * audio: frame `seq` starts at sample `seq * frameSamples`. Lost audio (a
 * device overflow, a restart) advances the numbering, so the timeline keeps
 * its shape and every later stage can see the gap.
 */
import type { FrameRing, WriteOutcome } from './ring.js';

export interface AssemblerStats {
  framesWritten: number;
  framesDropped: number;
  /** Samples known lost before reaching the ring (device overflow, restarts). */
  samplesLost: number;
}

export class FrameAssembler {
  private readonly pending: Int16Array;
  private pendingCount = 0;
  private nextSeq = 0;
  readonly stats: AssemblerStats = { framesWritten: 0, framesDropped: 0, samplesLost: 0 };

  constructor(
    private readonly ring: FrameRing,
    /** Told each time the ring's overflow policy discards a frame. */
    private readonly onDrop?: (outcome: WriteOutcome) => void,
  ) {
    this.pending = new Int16Array(ring.frameSamples);
  }

  /** The sequence number the next frame will carry. */
  get seq(): number {
    return this.nextSeq;
  }

  /**
   * Adds samples whose last one was captured at `lastSampleTimeMs`
   * (monotonic clock); writes every frame they complete.
   */
  push(samples: Int16Array, lastSampleTimeMs: number): void {
    const frameSamples = this.ring.frameSamples;
    const msPerSample = 1000 / this.ring.sampleRate;
    let offset = 0;
    while (offset < samples.length) {
      const take = Math.min(frameSamples - this.pendingCount, samples.length - offset);
      this.pending.set(samples.subarray(offset, offset + take), this.pendingCount);
      this.pendingCount += take;
      offset += take;
      if (this.pendingCount === frameSamples) {
        const samplesAfter = samples.length - offset;
        this.emit(this.pending, lastSampleTimeMs - samplesAfter * msPerSample);
        this.pendingCount = 0;
      }
    }
  }

  /**
   * Records `lostSamples` of audio that never arrived. The partial frame in
   * progress is lost with it, and numbering resumes at the next frame boundary
   * after the gap (the timeline is off by less than one frame).
   */
  gap(lostSamples: number): void {
    const frameSamples = this.ring.frameSamples;
    const lost = this.pendingCount + lostSamples;
    this.stats.samplesLost += lost;
    this.nextSeq += Math.ceil(lost / frameSamples);
    this.pendingCount = 0;
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
    if (outcome === 'written') {
      this.stats.framesWritten++;
      return;
    }
    if (outcome === 'dropped_oldest') this.stats.framesWritten++;
    this.stats.framesDropped++;
    this.onDrop?.(outcome);
  }
}
