/**
 * Output path templates shared by the file and WAV sinks: `{pipeline}`,
 * `{label}`, `{date}` (YYYY-MM-DD), `{time}` (HHMMSS), `{session}`, resolved
 * against the pipeline file's directory. Dates and times are local time, as a
 * user reading a directory listing expects.
 */
import { basename, dirname, extname, join, resolve } from 'node:path';
import { SinkConfigError } from './errors.js';

export type TemplateVariable = 'pipeline' | 'label' | 'date' | 'time' | 'session';

export interface TemplateValues {
  pipeline: string;
  /** Falls back to the pipeline's name when the pipeline has no label. */
  label?: string;
  /** The transcriber session of the first event in the file. */
  session?: string;
  now: Date;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Throws a SinkConfigError naming the first placeholder not in `allowed`. */
export function checkTemplate(template: string, allowed: readonly TemplateVariable[], sink: string, field = 'path'): void {
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!(allowed as readonly string[]).includes(name)) {
      const valid = allowed.map((v) => `{${v}}`).join(', ');
      throw new SinkConfigError(sink, field, `unknown placeholder {${name}} in "${template}"; valid: ${valid}`);
    }
  }
}

export function usesVariable(template: string, variable: TemplateVariable): boolean {
  return template.includes(`{${variable}}`);
}

/** The absolute path a template names at this moment. */
export function resolveTemplate(template: string, values: TemplateValues, baseDir: string): string {
  const filled = template.replace(PLACEHOLDER, (_whole, name: string) => {
    switch (name as TemplateVariable) {
      case 'pipeline':
        return safeSegment(values.pipeline);
      case 'label':
        return safeSegment(values.label ?? values.pipeline);
      case 'session':
        return safeSegment(values.session ?? 'nosession');
      case 'date':
        return localDate(values.now);
      case 'time':
        return localTime(values.now);
    }
  });
  return resolve(baseDir, filled);
}

/**
 * `path`, then `name-1.ext`, `name-2.ext`, ...: where a sink goes when the
 * file the template names belongs to an earlier run or was just rotated out.
 */
export function* candidatePaths(path: string, limit = 10000): Generator<string> {
  yield path;
  const ext = extname(path);
  const stem = join(dirname(path), basename(path, ext));
  for (let n = 1; n < limit; n++) yield `${stem}-${n}${ext}`;
}

export function localDate(now: Date): string {
  return `${now.getFullYear()}-${pad2(now.getMonth() + 1)}-${pad2(now.getDate())}`;
}

export function localTime(now: Date): string {
  return `${pad2(now.getHours())}${pad2(now.getMinutes())}${pad2(now.getSeconds())}`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** A value substituted into a path never adds a directory level or climbs out. */
function safeSegment(value: string): string {
  const cleaned = value.replace(/[^\p{L}\p{N}._-]+/gu, '_');
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? '_' : cleaned;
}
