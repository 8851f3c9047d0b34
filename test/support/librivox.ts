/**
 * The LibriVox clips Debian ships with pocketsphinx-testdata: a human reader,
 * 16 kHz mono WAV, with reference transcripts in `librivox/transcription`
 * (`<s> words </s> (clip-id)`, one line per clip).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

export const LIBRIVOX_DIR = '/usr/share/pocketsphinx/test/data/librivox';
const run = promisify(execFile);

export interface LibrivoxClip {
  id: string;
  wavPath: string;
  /** The reference words, lower case, without <s> and </s>. */
  reference: string;
}

const TRANSCRIPT_LINE = /^<s>\s+(.*?)\s+<\/s>\s+\(([^)\s]+)\)$/;

/** Parse a transcription file's text; throws naming the line that does not fit. */
export function parseTranscription(text: string, source = 'transcription'): { id: string; reference: string }[] {
  return text
    .split('\n')
    .map((line, index) => ({ line: line.trim(), number: index + 1 }))
    .filter(({ line }) => line !== '')
    .map(({ line, number }) => {
      const match = TRANSCRIPT_LINE.exec(line);
      if (match === null || match[1] === undefined || match[2] === undefined) {
        throw new Error(`${source}:${number}: expected "<s> words </s> (clip-id)", got "${line}"`);
      }
      return { id: match[2], reference: match[1] };
    });
}

/** Every clip with its reference, in the transcription file's order. */
export function librivoxClips(dir = LIBRIVOX_DIR): LibrivoxClip[] {
  const file = path.join(dir, 'transcription');
  if (!existsSync(file)) {
    throw new Error(`${file} is missing; install it with: apt-get install pocketsphinx-testdata`);
  }
  return parseTranscription(readFileSync(file, 'utf8'), file).map(({ id, reference }) => {
    const wavPath = path.join(dir, `${id}.wav`);
    if (!existsSync(wavPath)) throw new Error(`${file} names ${id} but ${wavPath} does not exist`);
    return { id, wavPath, reference };
  });
}

/** Any audio file sox reads, as 16-bit mono samples at `sampleRate` (sox resamples if needed). */
export async function readPcm(file: string, sampleRate = 16000): Promise<Int16Array> {
  const args = [file, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-c', '1', '-L', '-r', String(sampleRate), '-'];
  const { stdout } = await run('sox', args, { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  const bytes = Buffer.from(stdout);
  return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
}
