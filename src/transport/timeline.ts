/**
 * Maps a session's audio clock (milliseconds from the first sample that
 * session received) onto the pipeline's audio clock (milliseconds from the
 * first sample the pipeline captured). A session's audio is a series of
 * contiguous runs of pipeline audio (it starts mid-stream after a reconnect,
 * and skips where frames were lost), plus any silence we padded in; each run
 * is one segment.
 */
interface Segment {
  sessionStartMs: number;
  pipelineStartMs: number;
  durationMs: number;
}

export class SessionTimeline {
  private readonly segments: Segment[] = [];
  /** Audio sent in this session so far, in ms of session time. */
  sentMs = 0;

  /** Records that `durationMs` of pipeline audio starting at pipelineStartMs was just sent. */
  recordSent(pipelineStartMs: number, durationMs: number): void {
    const last = this.segments[this.segments.length - 1];
    if (last && last.sessionStartMs + last.durationMs === this.sentMs && last.pipelineStartMs + last.durationMs === pipelineStartMs) {
      last.durationMs += durationMs;
    } else {
      this.segments.push({ sessionStartMs: this.sentMs, pipelineStartMs, durationMs });
    }
    this.sentMs += durationMs;
  }

  /** Records padding: session time that is no pipeline audio. */
  recordPadding(durationMs: number): void {
    this.sentMs += durationMs;
  }

  /** The pipeline position of a session time; times in padding map to the end of the audio before it. */
  toPipelineMs(sessionMs: number): number {
    let chosen = this.segments[0];
    if (!chosen) return sessionMs;
    for (const segment of this.segments) {
      if (segment.sessionStartMs > sessionMs) break;
      chosen = segment;
    }
    const offset = Math.min(Math.max(sessionMs - chosen.sessionStartMs, 0), chosen.durationMs);
    return Math.round(chosen.pipelineStartMs + offset);
  }

  /** The pipeline position of the end of what this session was sent. */
  get pipelineEndMs(): number | undefined {
    const last = this.segments[this.segments.length - 1];
    return last ? last.pipelineStartMs + last.durationMs : undefined;
  }
}
