/**
 * The benchmark's result: the JSON written to bench/results/, the goals
 * checked against it, and the tables printed from it.
 */
import type { MachineInfo } from './lib/proc.js';
import type { BenchOptions } from './lib/options.js';
import type { LatencySection } from './frame-latency/section.js';
import { CONDITION_DESCRIPTIONS, CONDITIONS, VARIANTS, type Condition, type ScenarioResult, type Variant } from './frame-latency/scenario.js';
import type { ScaleSection, ScaleStep } from './scale/section.js';
import type { RecognizerFigures } from './pocketsphinx.js';
import type { EndToEndFigures } from './end-to-end.js';

export interface Ratio {
  condition: Condition;
  variant: Variant;
  /** This design's figure divided by as-built's, same condition. */
  p50: number;
  p99: number;
  max: number;
}

export interface Goal {
  goal: string;
  measured: string;
  /** null: this run did not measure it (a section or step was left out). */
  met: boolean | null;
}

export interface BenchResult {
  benchmark: 'earshot';
  date: string;
  mode: 'full' | 'quick';
  machine: MachineInfo;
  options: BenchOptions;
  durationSeconds: number;
  latency?: LatencySection & { ratios: Ratio[] };
  scale?: ScaleSection;
  recognizer?: RecognizerFigures | { error: string };
  endToEnd?: EndToEndFigures | { error: string };
  goals: Goal[];
}

export function find(latency: LatencySection | undefined, variant: Variant, condition: Condition): ScenarioResult | undefined {
  return latency?.results.find((r) => r.spec.variant === variant && r.spec.condition === condition);
}

export function latencyRatios(latency: LatencySection): Ratio[] {
  const ratios: Ratio[] = [];
  for (const condition of CONDITIONS) {
    const base = find(latency, 'as-built', condition);
    if (!base) continue;
    for (const variant of VARIANTS) {
      const other = find(latency, variant, condition);
      if (!other || variant === 'as-built') continue;
      ratios.push({
        condition,
        variant,
        p50: other.latencyMs.p50 / base.latencyMs.p50,
        p99: other.latencyMs.p99 / base.latencyMs.p99,
        max: other.latencyMs.max / base.latencyMs.max,
      });
    }
  }
  return ratios;
}

const MB = 1024 * 1024;

export function evaluateGoals(result: Pick<BenchResult, 'latency' | 'scale'>): Goal[] {
  const { latency, scale } = result;
  const goals: Goal[] = [];
  const p99Goal = (condition: Condition, limitMs: number, label: string): void => {
    const run = find(latency, 'as-built', condition);
    goals.push({
      goal: `frame latency p99 <= ${limitMs} ms, ${label}`,
      measured: run ? `${fmt(run.latencyMs.p99)} ms (n ${run.latencyMs.n})` : 'not measured',
      met: run ? run.latencyMs.p99 <= limitMs : null,
    });
  };
  p99Goal('idle', 1, 'idle');
  p99Goal('blocked-loop', 5, 'a sink blocking the main loop 200 ms every second');

  const asBuilt = [...(latency?.results.filter((r) => r.spec.variant === 'as-built') ?? []), ...(scale?.steps.map((s) => s.result) ?? [])];
  const lost = asBuilt.reduce((sum, r) => sum + r.framesLost, 0);
  const expected = Math.round(asBuilt.reduce((sum, r) => sum + r.framesExpected, 0));
  const conditions = new Set(latency?.results.filter((r) => r.spec.variant === 'as-built').map((r) => r.spec.condition));
  goals.push({
    goal: 'zero frames lost in every condition, default settings',
    measured: asBuilt.length ? `${lost} of ${expected} frames lost (${conditions.size} conditions, ${scale?.steps.length ?? 0} scale steps)` : 'not measured',
    // Every condition must have run to call it met; any loss anywhere misses it.
    met: lost > 0 ? false : conditions.size === CONDITIONS.length ? true : null,
  });

  // Per stream it costs most with few streams (nothing shares a thread's wake-ups): every step must be under.
  const steps = scale?.steps ?? [];
  const worst = steps.reduce<ScaleStep | undefined>((w, s) => (!w || s.captureTransportPercentPerStream > w.captureTransportPercentPerStream ? s : w), undefined);
  const largest = steps.at(-1);
  goals.push({
    goal: 'capture + transport < 1% of one core per 16 kHz stream',
    measured: worst
      ? `${fmt(worst.captureTransportPercentPerStream)}% each with ${worst.pipelines} (the most per stream)` +
        (largest && largest !== worst ? `, ${fmt(largest.captureTransportPercentPerStream)}% each with ${largest.pipelines}` : '')
      : 'not measured',
    met: worst ? worst.captureTransportPercentPerStream < 1 : null,
  });

  const reached = scale?.steps.some((s) => s.pipelines >= 64) || scale?.stoppedAt !== undefined;
  goals.push({
    goal: '>= 64 concurrent pipelines on this machine with zero drops',
    measured: scale ? `${scale.maxPipelinesWithoutLoss}${scale.stoppedAt ? ` (${scale.stoppedAt.pipelines}: ${scale.stoppedAt.reason})` : ' (every step clean)'}` : 'not measured',
    met: scale && reached ? scale.maxPipelinesWithoutLoss >= 64 : null,
  });
  goals.push({
    goal: '< 15 MB memory per added pipeline',
    measured: scale && Number.isFinite(scale.rssBytesPerPipeline) ? `${fmt(scale.rssBytesPerPipeline / MB)} MB (RSS slope over ${scale.steps.filter((s) => s.framesLost === 0).length} steps)` : 'not measured',
    met: scale && Number.isFinite(scale.rssBytesPerPipeline) ? scale.rssBytesPerPipeline < 15 * MB : null,
  });
  return goals;
}

// ------------------------------------------------------------------ tables

/** Three significant figures, no exponent: 0.0123, 1.23, 123, 1234. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return '-';
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  if (abs === 0) return '0';
  return value.toPrecision(2);
}

/** A Markdown table; the first `textColumns` columns are text (left-aligned), the rest figures (right-aligned). */
function table(header: string[], rows: string[][], textColumns = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (i < textColumns ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|';
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function audioPathCpuPerStream(r: ScenarioResult): number {
  // The threads a frame passes through; for main-thread that is the main thread (and whatever else runs there).
  const roles = r.spec.variant === 'main-thread' ? ['capture', 'main'] : ['audio-host', 'capture', 'transport'];
  const ms = roles.reduce((sum, role) => sum + (r.roles[role]?.cpuMs ?? 0), 0);
  return (ms / r.windowMs) * 100 / r.spec.pipelines;
}

export function latencyTable(latency: LatencySection): string {
  const floorRows = CONDITIONS.flatMap((condition) => {
    const f = latency.floor[condition];
    return f ? [['floor: bare hand-off', condition, fmt(f.p50), fmt(f.p99), fmt(f.p999), fmt(f.max), String(f.n), '-', '-', '-', '-']] : [];
  });
  const rows = latency.results.map((r) => [
    r.spec.variant,
    r.spec.condition,
    fmt(r.latencyMs.p50),
    fmt(r.latencyMs.p99),
    fmt(r.latencyMs.p999),
    fmt(r.latencyMs.max),
    String(r.latencyMs.n),
    String(r.framesLost),
    fmt(r.heapBytesPerFrame),
    fmt(audioPathCpuPerStream(r)),
    fmt(r.machineCores.others),
  ]);
  return table(
    ['design', 'condition', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'frames', 'lost', 'heap B/frame', 'path CPU %/stream', 'other load, cores'],
    [...floorRows, ...rows],
    2,
  );
}

export function ratioTable(ratios: Ratio[]): string {
  const conditions = CONDITIONS.filter((c) => ratios.some((r) => r.condition === c));
  const variants = VARIANTS.filter((v) => ratios.some((r) => r.variant === v));
  const rows = conditions.map((condition) => [
    condition,
    ...variants.map((variant) => {
      const r = ratios.find((x) => x.condition === condition && x.variant === variant);
      return r ? `${fmt(r.p50)} / ${fmt(r.p99)} / ${fmt(r.max)}` : '-';
    }),
  ]);
  return table(['condition', ...variants.map((v) => `${v} (p50 / p99 / max)`)], rows);
}

export function scaleTable(scale: ScaleSection): string {
  const rows = scale.steps.map((s) => [
    String(s.pipelines),
    fmt(s.processCpuPercent),
    fmt(s.captureTransportPercentPerStream),
    fmt(s.rssBytes / MB),
    String(s.framesLost),
    fmt(s.latencyP99Ms),
    fmt(s.latencyMaxMs),
    fmt(s.serverCpuPercent),
    fmt(s.result.machineCores.others),
  ]);
  return table(['pipelines', 'process CPU % of a core', 'capture+transport %/stream', 'RSS MB', 'lost', 'p99 ms', 'max ms', 'server CPU %', 'other load, cores'], rows);
}

export function goalTable(goals: Goal[]): string {
  return table(
    ['goal', 'measured', 'status'],
    goals.map((g) => [g.goal, g.measured, g.met === null ? 'not measured' : g.met ? 'met' : 'MISSED']),
    3,
  );
}

export function formatReport(result: BenchResult): string {
  const out: string[] = [];
  const m = result.machine;
  out.push(`earshot benchmark, ${result.date} (${result.mode}), ${m.cpuModel} x ${m.cores}, Node ${m.node}, ${m.kernel}`);
  if (result.latency) {
    const o = result.latency.options;
    out.push('', `Frame latency: frame complete in the capture thread -> bytes handed to the socket (${o.pipelines} pipelines, ${o.windowMs / 1000} s window per run)`);
    for (const c of o.conditions) out.push(`  ${c}: ${CONDITION_DESCRIPTIONS[c]}`);
    out.push('', latencyTable(result.latency));
    if (result.latency.ratios.length) out.push('', 'Ratio to as-built, same condition:', '', ratioTable(result.latency.ratios));
    for (const f of result.latency.failures) out.push(`FAILED ${f.variant} / ${f.condition}: ${f.error}`);
  }
  if (result.scale) {
    const s = result.scale;
    out.push('', `Cost and scale (as built, idle, ${s.options.windowMs / 1000} s window per step):`, '', scaleTable(s));
    out.push(
      '',
      `most pipelines with zero frames lost: ${s.maxPipelinesWithoutLoss}${s.stoppedAt ? `; stopped at ${s.stoppedAt.pipelines}: ${s.stoppedAt.reason}` : ''}`,
      `each added pipeline: ${fmt(s.rssBytesPerPipeline / MB)} MB RSS, ${fmt(s.processCpuPercentPerPipeline)}% of a core (least-squares slopes)`,
    );
  }
  if (result.recognizer) {
    const r = result.recognizer;
    out.push('', 'Offline recognizer (pocketsphinx, LibriVox clips):');
    if ('error' in r) out.push(`  FAILED: ${r.error}`);
    else {
      out.push(`  decode speed: ${fmt(r.audioSecondsPerCpuSecond)} audio s per CPU s (${fmt(r.audioSeconds)} s of audio)`);
      if (r.utteranceLatencyMedianMs !== undefined) out.push(`  utterance latency at real-time pace: median ${fmt(r.utteranceLatencyMedianMs)} ms, max ${fmt(r.utteranceLatencyMaxMs ?? NaN)} ms`);
    }
  }
  if (result.endToEnd) {
    const e = result.endToEnd;
    out.push('', 'End to end, offline (LibriVox into a PulseAudio sink, captured, earshot serve --engine local, JSONL):');
    if ('error' in e) out.push(`  FAILED: ${e.error}`);
    else {
      out.push(`  word error rate: ${fmt(e.earshotWer)} through earshot, ${fmt(e.directWer)} decoding the files directly (${e.clips} clips)`);
      out.push(`  end of utterance -> final event: median ${fmt(e.latencyMedianMs)} ms, max ${fmt(e.latencyMaxMs)} ms (${e.latenciesMs.map((ms) => fmt(ms)).join(', ')})`);
    }
  }
  out.push('', 'Goals:', '', goalTable(result.goals));
  return out.join('\n');
}
