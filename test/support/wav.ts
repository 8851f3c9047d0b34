/** Writing and reading 16-bit PCM WAV files for tests. */
import { readFile, writeFile } from 'node:fs/promises';

export async function writeWav(path: string, samples: Int16Array, sampleRate: number, channels: number): Promise<void> {
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + samples.byteLength, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(samples.byteLength, 40);
  await writeFile(path, Buffer.concat([header, Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)]));
}

/** The samples of a 16-bit PCM WAV file (interleaved when it has several channels). */
export async function readWavSamples(path: string): Promise<Int16Array> {
  const bytes = await readFile(path);
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const length = bytes.readUInt32LE(offset + 4);
    if (id === 'data') {
      const data = bytes.subarray(offset + 8, offset + 8 + length);
      return new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    }
    offset += 8 + length + (length % 2);
  }
  throw new Error(`${path}: no data chunk`);
}

/** Interleaves mono channels into one buffer of frames. */
export function interleave(...channels: Float32Array[]): Int16Array {
  const frames = channels[0]?.length ?? 0;
  const out = new Int16Array(frames * channels.length);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels.length; c++) out[i * channels.length + c] = Math.round(((channels[c] as Float32Array)[i] as number) * 32767);
  }
  return out;
}
