/**
 * Torn-tail repair for record files (one line, or one blank-line-terminated
 * block of cues, per record).
 *
 * The file sink writes each record with one write() call, so a process killed
 * between calls leaves only complete records. The kernel may still cut a write
 * short when a fatal signal arrives mid-copy (and a power cut may lose any
 * suffix), so before a file is written again its tail is checked: whatever
 * follows the last complete record is cut off.
 */
import { open, type FileHandle } from 'node:fs/promises';

const CHUNK_BYTES = 64 * 1024;

export interface TailRepair {
  /** Bytes removed from the end (0 when the file was whole). */
  removedBytes: number;
  /** The file's size afterwards. */
  size: number;
}

/**
 * Cuts `path` back to the end of its last complete record. `header` (the VTT
 * signature) is kept or restored when nothing complete follows it.
 */
export async function repairTornTail(path: string, recordEnd: string, header = ''): Promise<TailRepair> {
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const terminator = Buffer.from(recordEnd);
    if (size === 0 && header === '') return { removedBytes: 0, size };
    if (size >= terminator.length && (await endsWith(fh, size, terminator))) return { removedBytes: 0, size };
    const keep = await endOfLastRecord(fh, size, terminator);
    if (keep >= Buffer.byteLength(header)) {
      await fh.truncate(keep);
      return { removedBytes: size - keep, size: keep };
    }
    await fh.truncate(0);
    await fh.write(header, 0, 'utf8');
    return { removedBytes: size, size: Buffer.byteLength(header) };
  } finally {
    await fh.close();
  }
}

async function endsWith(fh: FileHandle, size: number, tail: Buffer): Promise<boolean> {
  const buf = Buffer.alloc(tail.length);
  await fh.read(buf, 0, tail.length, size - tail.length);
  return buf.equals(tail);
}

/** Offset just past the last `terminator` in the file, or 0. Reads backwards in chunks. */
async function endOfLastRecord(fh: FileHandle, size: number, terminator: Buffer): Promise<number> {
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - CHUNK_BYTES);
    // Overlap by terminator.length - 1 so a terminator split across chunks is found.
    const length = Math.min(size, end + terminator.length - 1) - start;
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, start);
    const at = buf.lastIndexOf(terminator);
    if (at >= 0) return start + at + terminator.length;
    end = start;
  }
  return 0;
}
