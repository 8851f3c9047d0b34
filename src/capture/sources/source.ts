/**
 * A capture source feeds one pipeline's ring, through a FrameAssembler, from
 * the audio host thread. The host starts and stops it and restarts it after a
 * failure, recording the gap.
 */
export interface SourceInfo {
  /** What was opened, for logs: `earshot_test.monitor (PulseAudio) at 48000 Hz, 2 ch`. */
  description: string;
  /** The device's name and host API, for device sources. */
  device?: string;
  hostApi?: string;
  /** The format the device or file delivers. */
  openedSampleRate: number;
  openedChannels: number;
  /** The format the ring receives (the pipeline's). */
  sampleRate: number;
  channels: number;
  /** How the first becomes the second: `none`, or `downmix 2 ch to mono, resample 48000 -> 16000 Hz (...)`. */
  conversion: string;
  /** Formats the device refused before the one opened, with its reasons. */
  refused?: string[];
}

export interface SourceEvents {
  /** The source cannot go on (device gone, read error); the host decides about a restart. */
  onFailure(error: Error): void;
  /** No more audio will come (end of a file). */
  onEnd(): void;
  /** The device reported lost audio, in its own words; the loss itself is measured and reported as a gap. */
  onOverflow(detail: string): void;
}

export interface CaptureSource {
  start(): Promise<SourceInfo>;
  stop(): Promise<void>;
  /** When the source last delivered anything (monotonic ms), for the watchdog; undefined before the first delivery. */
  readonly lastDeliveryMs: number | undefined;
}
