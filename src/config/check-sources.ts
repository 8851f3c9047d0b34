/** Sources: numbers that cannot work together, devices that cannot match. */
import type { CheckContext } from './check-context.js';
import { looksLikePattern, parseDeviceSelector } from './device-selector.js';
import type { Path } from './path.js';
import type { SourceConfig } from './schema.js';

export function checkSources(ctx: CheckContext): void {
  for (const [name, pipeline] of Object.entries(ctx.config.pipelines)) {
    const path: Path = ['pipelines', name, 'source'];
    if (!ctx.intact(path) || !ctx.usable([...path, 'type'])) continue;
    checkFrames(ctx, pipeline.source, path);
    if (pipeline.source.type === 'portaudio') checkDevice(ctx, pipeline.source.device, [...path, 'device']);
    if (pipeline.source.type === 'file') checkFileSource(ctx, pipeline.source, path);
    if (pipeline.source.type === 'synthetic') checkSynthetic(ctx, pipeline.source, path);
  }
}

function checkFrames(ctx: CheckContext, source: SourceConfig, path: Path): void {
  const rate = [...path, 'sample_rate'];
  const frame = [...path, 'frame_ms'];
  const ring = [...path, 'ring_seconds'];
  if (!ctx.usable(rate) || !ctx.usable(frame)) return;
  const samples = (source.sample_rate * source.frame_ms) / 1000;
  if (!Number.isInteger(samples)) {
    const step = 1000 / gcd(source.sample_rate, 1000);
    ctx.report(
      'error',
      frame,
      'value',
      `a ${source.frame_ms} ms frame at ${source.sample_rate} Hz is ${samples} samples; frame_ms must give whole samples (a multiple of ${step} ms at this rate)`,
    );
  }
  if (ctx.usable(ring) && source.ring_seconds * 1000 < 2 * source.frame_ms) {
    ctx.report(
      'error',
      ring,
      'value',
      `a ${source.ring_seconds} s ring holds less than two ${source.frame_ms} ms frames; make ring_seconds at least ${(2 * source.frame_ms) / 1000}`,
    );
  }
}

function checkDevice(ctx: CheckContext, device: string | number | undefined, path: Path): void {
  if (device === undefined || !ctx.usable(path)) return;
  try {
    const selector = parseDeviceSelector(device);
    if (selector.kind === 'name' && looksLikePattern(selector.name)) {
      ctx.report(
        'warning',
        path,
        'value',
        `"${selector.name}" is matched as plain text (a device name or part of one); for a regular expression write /${selector.name}/`,
      );
    }
  } catch (error) {
    ctx.report('error', path, 'value', (error as Error).message);
  }
}

const SOURCE_FILE_EXTENSIONS = ['.wav', '.raw', '.pcm'];

function checkFileSource(ctx: CheckContext, source: Extract<SourceConfig, { type: 'file' }>, path: Path): void {
  const filePath = [...path, 'path'];
  if (ctx.usable(filePath)) {
    const extension = /\.[^./\\]*$/.exec(source.path)?.[0].toLowerCase();
    if (extension === undefined || !SOURCE_FILE_EXTENSIONS.includes(extension)) {
      ctx.report('warning', filePath, 'value', `the file source reads .wav, or raw 16-bit PCM in .raw or .pcm; "${source.path}" has none of these extensions`);
    }
  }
  if (ctx.usable([...path, 'loop']) && ctx.usable([...path, 'realtime']) && source.loop && !source.realtime) {
    ctx.report('warning', [...path, 'loop'], 'key', 'loop with realtime: false replays the file as fast as it can, forever');
  }
}

function checkSynthetic(ctx: CheckContext, source: Extract<SourceConfig, { type: 'synthetic' }>, path: Path): void {
  const frequency = [...path, 'frequency_hz'];
  if (ctx.usable([...path, 'signal']) && source.signal === 'tone' && ctx.usable(frequency) && ctx.usable([...path, 'sample_rate']) && source.frequency_hz >= source.sample_rate / 2) {
    ctx.report(
      'warning',
      frequency,
      'value',
      `${source.frequency_hz} Hz is at or above half the ${source.sample_rate} Hz sample rate, so the tone comes out at a different pitch`,
    );
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
