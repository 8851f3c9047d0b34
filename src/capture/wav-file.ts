/**
 * Reading WAV files for the `file` source: the RIFF chunk walk and sample
 * decoding (8/16/24/32-bit integer and 32-bit float PCM, any channel count).
 */
import { open, type FileHandle } from 'node:fs/promises';

export interface WavFormat {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** 1 = integer PCM, 3 = IEEE float. */
  audioFormat: 1 | 3;
  dataOffset: number;
  dataBytes: number;
}

export class AudioFileError extends Error {
  override readonly name = 'AudioFileError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

export async function readWavFormat(file: string, handle: FileHandle): Promise<WavFormat> {
  const head = Buffer.alloc(12);
  await handle.read(head, 0, 12, 0);
  if (head.toString('ascii', 0, 4) !== 'RIFF' || head.toString('ascii', 8, 12) !== 'WAVE') {
    throw new AudioFileError(file, 'not a WAV file (no RIFF/WAVE header); raw PCM files must end in .raw or .pcm');
  }
  let offset = 12;
  let format: Omit<WavFormat, 'dataOffset' | 'dataBytes'> | undefined;
  const chunkHeader = Buffer.alloc(8);
  const { size } = await handle.stat();
  while (offset + 8 <= size) {
    await handle.read(chunkHeader, 0, 8, offset);
    const id = chunkHeader.toString('ascii', 0, 4);
    const length = chunkHeader.readUInt32LE(4);
    if (id === 'fmt ') {
      const fmt = Buffer.alloc(Math.min(length, 40));
      await handle.read(fmt, 0, fmt.length, offset + 8);
      let tag = fmt.readUInt16LE(0);
      if (tag === WAVE_FORMAT_EXTENSIBLE && fmt.length >= 26) tag = fmt.readUInt16LE(24);
      const bitsPerSample = fmt.readUInt16LE(14);
      if (tag !== WAVE_FORMAT_PCM && tag !== WAVE_FORMAT_FLOAT) {
        throw new AudioFileError(file, `unsupported WAV encoding (format tag ${tag}); convert it with: sox ${file} -b 16 out.wav`);
      }
      if (tag === WAVE_FORMAT_FLOAT ? bitsPerSample !== 32 : ![8, 16, 24, 32].includes(bitsPerSample)) {
        throw new AudioFileError(file, `unsupported sample size ${bitsPerSample} bits`);
      }
      format = { audioFormat: tag, sampleRate: fmt.readUInt32LE(4), channels: fmt.readUInt16LE(2), bitsPerSample };
    } else if (id === 'data') {
      if (!format) throw new AudioFileError(file, 'WAV data chunk comes before its fmt chunk');
      // A header left unfinished by a crashed writer says 0 or too much; trust the file size.
      const available = size - (offset + 8);
      const dataBytes = length === 0 || length > available ? available : length;
      return { ...format, dataOffset: offset + 8, dataBytes };
    }
    offset += 8 + length + (length % 2);
  }
  throw new AudioFileError(file, 'WAV file has no data chunk');
}

/** Decodes interleaved samples of any supported format to 16-bit. */
export function decodeToInt16(bytes: Buffer, format: Pick<WavFormat, 'bitsPerSample' | 'audioFormat'>): Int16Array {
  const width = format.bitsPerSample / 8;
  const count = Math.floor(bytes.length / width);
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++) {
    const at = i * width;
    if (format.audioFormat === 3) {
      out[i] = Math.max(-32768, Math.min(32767, Math.round(bytes.readFloatLE(at) * 32767)));
    } else if (width === 2) {
      out[i] = bytes.readInt16LE(at);
    } else if (width === 1) {
      out[i] = (bytes[at]! - 128) << 8;
    } else if (width === 3) {
      out[i] = bytes.readIntLE(at, 3) >> 8;
    } else {
      out[i] = bytes.readInt32LE(at) >> 16;
    }
  }
  return out;
}

export interface OpenedAudioFile {
  handle: FileHandle;
  format: WavFormat;
}

/** Opens a WAV file, or a raw 16-bit mono file (.raw/.pcm) at the given rate. */
export async function openAudioFile(file: string, rawSampleRate: number): Promise<OpenedAudioFile> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new AudioFileError(file, `cannot open: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    if (/\.(raw|pcm)$/i.test(file)) {
      const { size } = await handle.stat();
      const format: WavFormat = { sampleRate: rawSampleRate, channels: 1, bitsPerSample: 16, audioFormat: 1, dataOffset: 0, dataBytes: size };
      return { handle, format };
    }
    return { handle, format: await readWavFormat(file, handle) };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
