/**
 * Turns a session's binary messages into 16-bit PCM samples for its engine,
 * and says how much audio each message held.
 */
import type { DecodableEncoding } from './params.js';

/** G.711 mu-law byte to 16-bit linear sample. */
function mulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return sign !== 0 ? -magnitude : magnitude;
}

const MULAW_TABLE = Int16Array.from({ length: 256 }, (_, byte) => mulawToLinear(byte));

export class AudioDecoder {
  readonly bytesPerSample: number;
  /** A byte of a 16-bit sample split across two messages. */
  private carry: number | undefined;

  constructor(
    private readonly encoding: DecodableEncoding,
    readonly sampleRate: number,
  ) {
    this.bytesPerSample = encoding === 'pcm_s16le' ? 2 : 1;
  }

  /** How many milliseconds of audio a message of `bytes` holds. */
  durationMs(bytes: number): number {
    return (bytes / this.bytesPerSample / this.sampleRate) * 1000;
  }

  decode(data: Buffer): Int16Array {
    if (this.encoding === 'pcm_mulaw') {
      const samples = new Int16Array(data.length);
      for (let i = 0; i < data.length; i++) samples[i] = MULAW_TABLE[data[i] as number] as number;
      return samples;
    }
    let bytes = data;
    if (this.carry !== undefined) {
      bytes = Buffer.concat([Buffer.from([this.carry]), data]);
      this.carry = undefined;
    }
    const whole = bytes.length - (bytes.length % 2);
    if (whole < bytes.length) this.carry = bytes[whole];
    const samples = new Int16Array(whole / 2);
    for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
    return samples;
  }
}
