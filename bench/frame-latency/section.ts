/**
 * The frame-latency section: every design under every condition, one child
 * process each, all against the same loopback server. Within a condition the
 * designs run back to back, so their ratios compare like with like.
 */
import { CpuSpinner } from '../lib/cpu-spinner.js';
import type { ServeProcess } from '../lib/serve-process.js';
import type { Distribution } from '../lib/distribution.js';
import { runFloor, runScenario } from './run-scenario.js';
import { FRAME_MS, type Condition, type ScenarioResult, type Variant } from './scenario.js';

export interface LatencySectionOptions {
  variants: readonly Variant[];
  conditions: readonly Condition[];
  pipelines: number;
  warmupMs: number;
  windowMs: number;
  tailMs: number;
}

export interface LatencySection {
  options: LatencySectionOptions;
  results: ScenarioResult[];
  /** The bare thread-to-thread hand-off under each condition (floor-child.ts), measured just before its designs. */
  floor: Partial<Record<Condition, Distribution>>;
  /** Failed scenarios, with why. */
  failures: { variant: Variant | 'floor'; condition: Condition; error: string }[];
}

export async function runLatencySection(
  options: LatencySectionOptions,
  server: ServeProcess,
  progress: (line: string) => void,
): Promise<LatencySection> {
  const section: LatencySection = { options, results: [], floor: {}, failures: [] };
  for (const condition of options.conditions) {
    const spinner = condition === 'busy-core' ? await CpuSpinner.start() : undefined;
    try {
      progress(`frame latency: the hand-off floor, ${condition}`);
      try {
        section.floor[condition] = await runFloor(condition, Math.ceil(options.windowMs / FRAME_MS));
      } catch (error) {
        section.failures.push({ variant: 'floor', condition, error: (error as Error).message });
      }
      for (const variant of options.variants) {
        progress(`frame latency: ${variant}, ${condition}`);
        try {
          const { pipelines, warmupMs, windowMs, tailMs } = options;
          section.results.push(await runScenario({ variant, condition, pipelines, warmupMs, windowMs, tailMs }, server));
        } catch (error) {
          section.failures.push({ variant, condition, error: (error as Error).message });
        }
      }
    } finally {
      await spinner?.stop();
    }
  }
  return section;
}
