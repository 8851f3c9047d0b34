/**
 * A capture source feeds one pipeline's ring, through a FrameAssembler, from
 * the audio host thread. The host starts and stops it and restarts it after a
 * failure, recording the gap.
 */
export interface SourceInfo {
  /** What was opened, for logs: `pulse (source earshot_test.monitor) at 16000 Hz, 1 ch`. */
  description: string;
  openedSampleRate: number;
  openedChannels: number;
  conversion: string;
}

export interface SourceEvents {
  /** The source cannot go on (device gone, read error); the host decides about a restart. */
  onFailure(error: Error): void;
  /** No more audio will come (end of a file). */
  onEnd(): void;
  /** Audio lost before it reached us, with the native side's words. */
  onOverflow(detail: string, lostSamples: number): void;
}

export interface CaptureSource {
  start(): Promise<SourceInfo>;
  stop(): Promise<void>;
}
