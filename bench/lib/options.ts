/** The benchmark's command line: `npm run bench -- [options]`. */
import { parseArgs } from 'node:util';
import { CONDITIONS, VARIANTS, type Condition, type Variant } from '../frame-latency/scenario.js';
import type { LatencySectionOptions } from '../frame-latency/section.js';
import type { ScaleOptions } from '../scale/section.js';

export const SECTIONS = ['latency', 'scale', 'recognizer', 'end-to-end'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  quick: boolean;
  sections: Section[];
  latency: LatencySectionOptions;
  scale: ScaleOptions;
  /** Directory the JSON result is written to. */
  outDir: string;
}

export class BenchUsageError extends Error {
  override readonly name = 'BenchUsageError';
}

export const USAGE = `usage: npm run bench -- [options]

  --quick                 a smoke run in well under a minute: 1 pipeline, 1 s windows,
                          scale steps 1 and 2, recognizer decode speed only,
                          no end-to-end
  --sections LIST         which sections, comma-separated: ${SECTIONS.join(', ')} (default: all)
  --variants LIST         frame-latency designs: ${VARIANTS.join(', ')} (default: all)
  --conditions LIST       conditions: ${CONDITIONS.join(', ')} (default: all)
  --pipelines N           pipelines per frame-latency run (default 4)
  --warmup-ms MS          audio before each measurement window (default 2000)
  --window-ms MS          frame-latency measurement window per run (default 10000)
  --scale-steps LIST      pipeline counts the scale section climbs (default 1,2,4,8,16,32,64,128,256)
  --scale-window-ms MS    scale measurement window per step (default 5000)
  --out DIR               where the JSON result goes (default bench/results)
  --help                  this text
`;

function positiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new BenchUsageError(`--${flag} ${text}: expected a whole number above 0`);
  return value;
}

function list<T extends string>(flag: string, text: string, valid: readonly T[]): T[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of items) {
    if (!valid.includes(item as T)) throw new BenchUsageError(`--${flag}: unknown "${item}"; valid: ${valid.join(', ')}`);
  }
  if (items.length === 0) throw new BenchUsageError(`--${flag}: give at least one of ${valid.join(', ')}`);
  return items as T[];
}

/** Parses the arguments; undefined when --help was asked for. */
export function parseBenchOptions(argv: string[], defaultOutDir: string): BenchOptions | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        sections: { type: 'string' },
        variants: { type: 'string' },
        conditions: { type: 'string' },
        pipelines: { type: 'string' },
        'warmup-ms': { type: 'string' },
        'window-ms': { type: 'string' },
        'scale-steps': { type: 'string' },
        'scale-window-ms': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new BenchUsageError((error as Error).message);
  }
  if (values.help) return undefined;
  const quick = values.quick === true;
  const int = (flag: 'pipelines' | 'warmup-ms' | 'window-ms' | 'scale-window-ms', fallback: number): number =>
    values[flag] === undefined ? fallback : positiveInteger(flag, values[flag]);
  const warmupMs = int('warmup-ms', quick ? 500 : 2000);
  const tailMs = quick ? 300 : 1000;
  return {
    quick,
    sections: values.sections === undefined ? [...SECTIONS] : list('sections', values.sections, SECTIONS),
    latency: {
      variants: values.variants === undefined ? [...VARIANTS] : list<Variant>('variants', values.variants, VARIANTS),
      conditions: values.conditions === undefined ? [...CONDITIONS] : list<Condition>('conditions', values.conditions, CONDITIONS),
      pipelines: int('pipelines', quick ? 1 : 4),
      warmupMs,
      windowMs: int('window-ms', quick ? 1000 : 10000),
      tailMs,
    },
    scale: {
      steps:
        values['scale-steps'] === undefined
          ? quick
            ? [1, 2]
            : [1, 2, 4, 8, 16, 32, 64, 128, 256]
          : values['scale-steps'].split(',').map((s) => positiveInteger('scale-steps', s.trim())),
      warmupMs,
      windowMs: int('scale-window-ms', quick ? 1000 : 5000),
      tailMs,
    },
    outDir: values.out ?? defaultOutDir,
  };
}
