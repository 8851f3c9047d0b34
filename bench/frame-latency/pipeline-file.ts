/**
 * The pipeline file every variant runs: `pipelines` synthetic sources at
 * real-time pace (silence: the cheapest signal to make, so the figures are
 * earshot's, not the generator's), each streaming to the loopback server. In
 * the blocked-loop condition the first pipeline carries the blocking sink,
 * on the main thread (`isolation: main`: in its own thread, the default for
 * plugins, it would block nothing but itself); every other sink is inert.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPipelineText, type LoadedConfig } from '../../src/config/load.js';
import { BLOCK_EVERY_MS, BLOCK_MS, FRAME_MS, SAMPLE_RATE, type ScenarioSpec } from './scenario.js';

const BLOCKING_SINK = new URL('./blocking-sink.js', import.meta.url).pathname;

export function pipelineName(index: number): string {
  return `p${String(index).padStart(3, '0')}`;
}

export function benchPipelineFile(spec: ScenarioSpec, sourceDurationMs: number): LoadedConfig {
  const lines = ['version: 1', 'service: { log: { level: warn, format: json } }', 'pipelines:'];
  for (let i = 0; i < spec.pipelines; i++) {
    const blockMs = spec.condition === 'blocked-loop' && i === 0 ? BLOCK_MS : 0;
    lines.push(
      `  ${pipelineName(i)}:`,
      `    source: { type: synthetic, signal: silence, duration_ms: ${sourceDurationMs}, frame_ms: ${FRAME_MS}, sample_rate: ${SAMPLE_RATE} }`,
      `    transcriber: { type: assemblyai, api_key: benchmark, url: "${spec.serverUrl}" }`,
      `    sinks: [ { type: plugin, isolation: main, module: "${BLOCKING_SINK}", options: { block_ms: ${blockMs}, every_ms: ${BLOCK_EVERY_MS} } } ]`,
    );
  }
  return loadPipelineText(lines.join('\n') + '\n', join(tmpdir(), 'earshot-bench.yaml'), {});
}
