/** Small helpers for 16-bit mono PCM in tests: WAV files, silence, chunks. */
import { readFileSync } from 'node:fs';

export interface Pcm {
  samples: Int16Array;
  sampleRate: number;
}

/** Reads a 16-bit mono PCM WAV file (RIFF chunks walked, not assumed). */
export function readWav(path: string): Pcm {
  const file = readFileSync(path);
  if (file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${path}: not a RIFF/WAVE file`);
  }
  let offset = 12;
  let sampleRate = 0;
  while (offset + 8 <= file.length) {
    const id = file.toString('ascii', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      const format = file.readUInt16LE(body);
      const channels = file.readUInt16LE(body + 2);
      sampleRate = file.readUInt32LE(body + 4);
      const bits = file.readUInt16LE(body + 14);
      if (format !== 1 || channels !== 1 || bits !== 16) {
        throw new Error(`${path}: expected 16-bit mono PCM, got format ${format}, ${channels} channels, ${bits} bits`);
      }
    } else if (id === 'data') {
      const end = Math.min(file.length, body + size);
      const samples = new Int16Array((end - body) >> 1);
      for (let i = 0; i < samples.length; i++) samples[i] = file.readInt16LE(body + i * 2);
      return { samples, sampleRate };
    }
    offset = body + size + (size % 2);
  }
  throw new Error(`${path}: no data chunk`);
}

/** Digital silence of the given length. */
export function silence(ms: number, sampleRate = 16000): Int16Array {
  return new Int16Array(Math.round((ms * sampleRate) / 1000));
}

export function concatPcm(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Little-endian byte chunks of `chunkMs` each (the last one may be shorter). */
export function chunkPcm(samples: Int16Array, sampleRate: number, chunkMs: number): Buffer[] {
  const per = Math.round((chunkMs * sampleRate) / 1000);
  const chunks: Buffer[] = [];
  for (let start = 0; start < samples.length; start += per) {
    const part = samples.subarray(start, Math.min(samples.length, start + per));
    const buffer = Buffer.alloc(part.length * 2);
    for (let i = 0; i < part.length; i++) buffer.writeInt16LE(part[i] as number, i * 2);
    chunks.push(buffer);
  }
  return chunks;
}

/** Chunks with a too-short tail padded with silence, so every chunk is a valid 50..1000 ms message. */
export function chunkPcmPadded(samples: Int16Array, sampleRate: number, chunkMs: number): Buffer[] {
  const per = Math.round((chunkMs * sampleRate) / 1000);
  const padded = new Int16Array(Math.ceil(samples.length / per) * per);
  padded.set(samples);
  return chunkPcm(padded, sampleRate, chunkMs);
}
