/**
 * The canonical 44-byte header of a 16-bit PCM mono WAV file, and repair of a
 * header left stale by a crash (sizes smaller than the data on disk).
 */
import { open } from 'node:fs/promises';

export const WAV_HEADER_BYTES = 44;
const BYTES_PER_SAMPLE = 2;
/** The RIFF size field is 32 bits: data may not pass this. */
export const WAV_MAX_DATA_BYTES = 0xffff_ffff - (WAV_HEADER_BYTES - 8) - 1;

export function wavHeader(sampleRate: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(WAV_HEADER_BYTES - 8 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * BYTES_PER_SAMPLE, 28); // byte rate
  h.writeUInt16LE(BYTES_PER_SAMPLE, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

export interface WavRepair {
  /** What was found: a whole file, one whose sizes were repaired, or not a WAV file at all. */
  status: 'ok' | 'repaired' | 'not-wav';
  dataBytes: number;
}

/**
 * Makes the header of a WAV file written by earshot (the data chunk last)
 * describe the samples on disk: sizes set from the file's length, a torn last
 * sample cut off, a torn header rewritten for `sampleRate`. Files that are not
 * RIFF/WAVE are left alone.
 */
export async function repairWavFile(path: string, sampleRate: number): Promise<WavRepair> {
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, 4096));
    await fh.read(head, 0, head.length, 0);
    if (size < WAV_HEADER_BYTES) {
      const looksOurs = head.length === 0 || Buffer.from('RIFF').subarray(0, head.length).equals(head.subarray(0, 4));
      if (!looksOurs) return { status: 'not-wav', dataBytes: 0 };
      await fh.truncate(0);
      await fh.write(wavHeader(sampleRate, 0), 0, WAV_HEADER_BYTES, 0);
      return { status: 'repaired', dataBytes: 0 };
    }
    if (head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') return { status: 'not-wav', dataBytes: 0 };
    const dataOffset = findDataChunk(head);
    if (dataOffset === undefined) return { status: 'not-wav', dataBytes: 0 };
    const blockAlign = head.readUInt16LE(32) || BYTES_PER_SAMPLE;
    const onDisk = size - dataOffset;
    const dataBytes = Math.min(onDisk - (onDisk % blockAlign), WAV_MAX_DATA_BYTES);
    const declared = head.readUInt32LE(dataOffset - 4);
    const riffDeclared = head.readUInt32LE(4);
    if (declared === dataBytes && riffDeclared === dataOffset - 8 + dataBytes && onDisk === dataBytes) return { status: 'ok', dataBytes };
    if (onDisk !== dataBytes) await fh.truncate(dataOffset + dataBytes);
    const sizes = Buffer.alloc(4);
    sizes.writeUInt32LE(dataOffset - 8 + dataBytes);
    await fh.write(sizes, 0, 4, 4);
    sizes.writeUInt32LE(dataBytes);
    await fh.write(sizes, 0, 4, dataOffset - 4);
    return { status: 'repaired', dataBytes };
  } finally {
    await fh.close();
  }
}

/** Offset of the first byte of the data chunk's samples, walking the chunks after `WAVE`. */
function findDataChunk(head: Buffer): number | undefined {
  let at = 12;
  while (at + 8 <= head.length) {
    const id = head.toString('ascii', at, at + 4);
    const size = head.readUInt32LE(at + 4);
    if (id === 'data') return at + 8;
    at += 8 + size + (size % 2);
  }
  return undefined;
}
