/** Reading WAV files back in the tests: our own header parser, and a test signal known by index. */
import { readFile } from 'node:fs/promises';

export interface ParsedWav {
  riffSize: number;
  format: number;
  channels: number;
  sampleRate: number;
  byteRate: number;
  blockAlign: number;
  bitsPerSample: number;
  dataOffset: number;
  /** The data size the header declares. */
  dataSize: number;
  /** The bytes actually after the data chunk header. */
  bytesOnDisk: number;
  fileSize: number;
  /** Samples within the declared size. */
  samples: Int16Array;
  /** Every sample on disk, whatever the header says. */
  allSamples: Int16Array;
}

export async function readWav(path: string): Promise<ParsedWav> {
  const buf = await readFile(path);
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path} is not RIFF/WAVE`);
  let at = 12;
  let fmt: Buffer | undefined;
  while (at + 8 <= buf.length) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === 'fmt ') fmt = buf.subarray(at + 8, at + 8 + size);
    if (id === 'data') {
      if (!fmt) throw new Error(`${path}: data before fmt`);
      const dataOffset = at + 8;
      const onDisk = buf.subarray(dataOffset);
      const toSamples = (b: Buffer) => new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length - (b.length % 2)));
      return {
        riffSize: buf.readUInt32LE(4),
        format: fmt.readUInt16LE(0),
        channels: fmt.readUInt16LE(2),
        sampleRate: fmt.readUInt32LE(4),
        byteRate: fmt.readUInt32LE(8),
        blockAlign: fmt.readUInt16LE(12),
        bitsPerSample: fmt.readUInt16LE(14),
        dataOffset,
        dataSize: size,
        bytesOnDisk: onDisk.length,
        fileSize: buf.length,
        samples: toSamples(onDisk.subarray(0, Math.min(size, onDisk.length))),
        allSamples: toSamples(onDisk),
      };
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`${path}: no data chunk`);
}

/** Sample i of the test signal: a ramp that tells every position within 65536 samples apart. */
export function signalAt(i: number): number {
  return ((i * 37) % 65536) - 32768;
}

export function signal(from: number, count: number): Int16Array {
  const out = new Int16Array(count);
  for (let k = 0; k < count; k++) out[k] = signalAt(from + k);
  return out;
}

/** Index of the first sample that differs from the test signal starting at `from`, or -1. */
export function firstMismatch(samples: Int16Array, from = 0): number {
  for (let k = 0; k < samples.length; k++) if (samples[k] !== signalAt(from + k)) return k;
  return -1;
}
