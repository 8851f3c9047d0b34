/** `params:` of an assemblyai transcriber, against the v3 API's connection parameters. */
import type { CheckContext } from './check-context.js';
import { describeValue, literal } from './describe.js';
import type { Path } from './path.js';
import { choice, didYouMean, listWords } from './suggest.js';
import { CONNECTION_PARAMS, type ParamSpec } from '../transport/protocol.js';

/** Set by earshot from the source; a value here would contradict the audio actually sent. */
const FROM_SOURCE: Readonly<Record<string, string>> = {
  sample_rate: 'sample_rate comes from the source (set source.sample_rate); remove it from params',
  encoding: 'encoding is set by earshot to match the audio it sends (pcm_s16le); remove it from params',
};

export function checkParams(ctx: CheckContext, params: Readonly<Record<string, unknown>>, path: Path): void {
  // Underscored names are the service's unstable internals: accepted, never suggested.
  const names = Object.keys(CONNECTION_PARAMS).filter((n) => FROM_SOURCE[n] === undefined && !n.startsWith('_'));
  for (const [name, value] of Object.entries(params)) {
    const paramPath = [...path, name];
    const fromSource = FROM_SOURCE[name];
    if (fromSource !== undefined) {
      ctx.report('error', paramPath, 'key', fromSource);
      continue;
    }
    const spec = CONNECTION_PARAMS[name];
    if (spec === undefined) {
      const close = didYouMean(name, names);
      const hint = close === undefined ? `; valid: ${listWords(names)}` : `; did you mean '${close}'?`;
      ctx.report('error', paramPath, 'key', `unknown connection parameter '${name}'${hint}`);
      continue;
    }
    const problem = valueProblem(spec, value);
    if (problem !== undefined) {
      ctx.report('error', paramPath, 'value', problem);
      continue;
    }
    if (spec.deprecated !== undefined) {
      const replacementGiven = Object.hasOwn(params, spec.deprecated);
      ctx.report(
        replacementGiven ? 'error' : 'warning',
        paramPath,
        'key',
        replacementGiven
          ? `${name} is the deprecated name of ${spec.deprecated}, which is also given; keep only ${spec.deprecated}`
          : `${name} is deprecated; use ${spec.deprecated}`,
      );
    }
  }
  checkCombinations(ctx, params, path);
}

/** What is wrong with a value for a parameter of this spec; undefined when it fits. */
export function valueProblem(spec: ParamSpec, value: unknown): string | undefined {
  const got = describeValue(value);
  switch (spec.kind) {
    case 'bool':
      return typeof value === 'boolean' ? undefined : `must be true or false, got ${got}`;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return `must be an integer, got ${got}`;
      return rangeProblem(spec, value);
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return `must be a number, got ${got}`;
      return rangeProblem(spec, value);
    case 'string':
      return typeof value === 'string' ? undefined : `must be a string, got ${got}`;
    case 'string[]':
      if (typeof value === 'string') return `must be a list of strings, got ${got}; write [${value}]`;
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return `must be a list of strings, got ${got}`;
      return undefined;
    case 'enum': {
      const values = spec.values ?? [];
      if (typeof value === 'string' && values.includes(value)) return undefined;
      return typeof value === 'string' ? choice(`unknown value '${value}'`, value, values) : `must be one of ${listWords(values)}, got ${got}`;
    }
    case 'json':
      return value !== null && typeof value === 'object' ? undefined : `must be a list or a mapping, got ${got}`;
  }
}

function rangeProblem(spec: ParamSpec, value: number): string | undefined {
  const { min, max } = spec;
  if ((min === undefined || value >= min) && (max === undefined || value <= max)) return undefined;
  const range =
    min !== undefined && max !== undefined ? `between ${min} and ${max}` : min !== undefined ? `at least ${min}` : `at most ${String(max)}`;
  return `must be ${range}, got ${literal(value)}`;
}

function checkCombinations(ctx: CheckContext, params: Readonly<Record<string, unknown>>, path: Path): void {
  const number = (name: string): number | undefined => {
    const value = params[name];
    return typeof value === 'number' && valueProblem(CONNECTION_PARAMS[name]!, value) === undefined ? value : undefined;
  };
  const minSilence = number('min_turn_silence') ?? number('min_end_of_turn_silence_when_confident');
  const maxSilence = number('max_turn_silence');
  if (minSilence !== undefined && maxSilence !== undefined && minSilence > maxSilence) {
    ctx.report('error', [...path, 'max_turn_silence'], 'value', `max_turn_silence (${maxSilence}) is less than min_turn_silence (${minSilence})`);
  }
  if (Object.hasOwn(params, 'max_speakers') && params.speaker_labels !== true) {
    ctx.report('warning', [...path, 'max_speakers'], 'key', 'max_speakers has no effect without speaker_labels: true');
  }
}
