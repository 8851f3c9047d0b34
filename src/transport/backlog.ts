/**
 * The audio backlog: every frame read from the ring stays here until the
 * transcript covers it, so a session that dies takes nothing with it. Frames
 * not yet sent wait here while the transcriber is unreachable; frames sent but
 * not yet "committed" (no final turn or long silence has confirmed them) are
 * replayed into the next session.
 *
 * Bounded in seconds (`buffer_seconds`): past the bound the oldest frame is
 * dropped and counted. Frame buffers are pooled, so the steady state
 * allocates nothing per frame.
 */
export interface BacklogFrame {
  seq: number;
  captureTimeMs: number;
  /** Position of the first sample in the pipeline's audio, in samples. */
  startSample: number;
  samples: Int16Array;
}

export interface BacklogStats {
  /** Frames dropped before they were ever sent: audio the transcriber never heard. */
  droppedUnsent: number;
  /** Frames dropped after sending but before they were confirmed: lost only if their session then ends unconfirmed. */
  droppedUnconfirmed: number;
  /** Of those, frames whose session was replaced before confirming them: missing from the transcript. */
  lostUnconfirmed: number;
}

export interface AudioChunk {
  /** First and last frame of the chunk (inclusive), as positions in the backlog. */
  frames: BacklogFrame[];
  startSample: number;
  samples: Int16Array;
}

export class AudioBacklog {
  private readonly frames: BacklogFrame[] = [];
  private readonly pool: Int16Array[] = [];
  /** How many of `frames` (from the front) the current session has been sent. */
  private sentCount = 0;
  readonly stats: BacklogStats = { droppedUnsent: 0, droppedUnconfirmed: 0, lostUnconfirmed: 0 };
  /** Dropped after sending to the current session and not yet confirmed by it, and where the last of them ended. */
  private unconfirmedDrops = 0;
  private unconfirmedDropsEnd = 0;
  private readonly capacityFrames: number;
  private readonly chunkBuffer: Int16Array;

  constructor(
    readonly frameSamples: number,
    readonly sampleRate: number,
    capacitySeconds: number,
    /** The longest chunk a send may carry, in samples. */
    readonly maxChunkSamples: number,
  ) {
    this.capacityFrames = Math.max(2, Math.ceil((capacitySeconds * sampleRate) / frameSamples));
    this.chunkBuffer = new Int16Array(Math.max(maxChunkSamples, frameSamples));
  }

  /** A buffer to read the next ring frame into (return it with append or release). */
  borrow(): Int16Array {
    return this.pool.pop() ?? new Int16Array(this.frameSamples);
  }

  /** Adds a frame read from the ring (samples must be a view of a borrowed buffer). */
  append(seq: number, captureTimeMs: number, samples: Int16Array): void {
    if (this.frames.length >= this.capacityFrames) this.dropOldest();
    this.frames.push({ seq, captureTimeMs, startSample: seq * this.frameSamples, samples });
  }

  release(buffer: Int16Array): void {
    this.pool.push(buffer.length === this.frameSamples ? buffer : new Int16Array(buffer.buffer, 0, this.frameSamples));
  }

  get unsentFrames(): number {
    return this.frames.length - this.sentCount;
  }

  get unsentSamples(): number {
    let total = 0;
    for (let i = this.sentCount; i < this.frames.length; i++) total += (this.frames[i] as BacklogFrame).samples.length;
    return total;
  }

  get size(): number {
    return this.frames.length;
  }

  /** Pipeline position (samples) just after the last frame sent in this session; undefined if none. */
  get sentEndSample(): number | undefined {
    if (this.sentCount === 0) return undefined;
    const last = this.frames[this.sentCount - 1] as BacklogFrame;
    return last.startSample + last.samples.length;
  }

  /**
   * The next chunk to send: consecutive unsent frames without a gap in their
   * numbering, at most maxChunkSamples; undefined when fewer than minSamples
   * are ready (unless flushing). The frames count as sent once markSent is called.
   */
  nextChunk(minSamples: number, flushing: boolean): AudioChunk | undefined {
    if (this.sentCount >= this.frames.length) return undefined;
    const first = this.frames[this.sentCount] as BacklogFrame;
    const chosen: BacklogFrame[] = [];
    let total = 0;
    let expected = first.startSample;
    for (let i = this.sentCount; i < this.frames.length; i++) {
      const frame = this.frames[i] as BacklogFrame;
      if (frame.startSample !== expected) break;
      if (total + frame.samples.length > this.maxChunkSamples && chosen.length > 0) break;
      chosen.push(frame);
      total += frame.samples.length;
      expected = frame.startSample + frame.samples.length;
    }
    const gapFollows = this.sentCount + chosen.length < this.frames.length;
    if (total < minSamples && !flushing && !gapFollows) return undefined;
    let offset = 0;
    for (const frame of chosen) {
      this.chunkBuffer.set(frame.samples, offset);
      offset += frame.samples.length;
    }
    return { frames: chosen, startSample: first.startSample, samples: this.chunkBuffer.subarray(0, total) };
  }

  markSent(chunk: AudioChunk): void {
    this.sentCount += chunk.frames.length;
  }

  /**
   * Audio before this pipeline position is covered by the transcript: free it.
   * Only frames already sent are freed.
   */
  commit(beforeSample: number): void {
    if (this.unconfirmedDrops > 0 && beforeSample >= this.unconfirmedDropsEnd) this.unconfirmedDrops = 0;
    let freed = 0;
    while (freed < this.sentCount) {
      const frame = this.frames[freed] as BacklogFrame;
      if (frame.startSample + frame.samples.length > beforeSample) break;
      freed++;
    }
    if (freed === 0) return;
    for (const frame of this.frames.splice(0, freed)) this.release(frame.samples);
    this.sentCount -= freed;
  }

  /** A new session starts: everything from this pipeline position on will be sent (again). */
  rewind(fromSample: number): void {
    this.commit(fromSample);
    this.settleUnconfirmedDrops(false);
    this.sentCount = 0;
  }

  /** The current session ended: what it was sent and lost before confirming is confirmed (Termination) or lost. */
  settleUnconfirmedDrops(confirmed: boolean): void {
    if (!confirmed) this.stats.lostUnconfirmed += this.unconfirmedDrops;
    this.unconfirmedDrops = 0;
  }

  private dropOldest(): void {
    const frame = this.frames.shift() as BacklogFrame;
    if (this.sentCount > 0) {
      this.sentCount--;
      this.stats.droppedUnconfirmed++;
      this.unconfirmedDrops++;
      this.unconfirmedDropsEnd = frame.startSample + frame.samples.length;
    } else {
      this.stats.droppedUnsent++;
    }
    this.release(frame.samples);
  }
}
