/**
 * earshot's benchmark suite: `npm run bench -- [--quick] [options]` (see
 * options.ts). Prints the tables and the goals, and writes every figure as
 * JSON to bench/results/<date>.json and bench/results/latest.json.
 * Exit code: 0 when every section ran (goals missed or not), 1 when a section
 * failed, 2 on a usage error.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLatencySection } from './frame-latency/section.js';
import { BenchUsageError, parseBenchOptions, USAGE, type BenchOptions } from './lib/options.js';
import { machineInfo } from './lib/proc.js';
import { ServeProcess } from './lib/serve-process.js';
import { measureEndToEnd } from './end-to-end.js';
import { measureRecognizer } from './pocketsphinx.js';
import { evaluateGoals, formatReport, latencyRatios, type BenchResult } from './report.js';
import { runScaleSection } from './scale/section.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

async function runBench(options: BenchOptions, progress: (line: string) => void): Promise<BenchResult> {
  const started = performance.now();
  const result: BenchResult = {
    benchmark: 'earshot',
    date: new Date().toISOString(),
    mode: options.quick ? 'quick' : 'full',
    machine: machineInfo(REPO),
    options,
    durationSeconds: 0,
    goals: [],
  };
  if (options.sections.includes('latency') || options.sections.includes('scale')) {
    const server = await ServeProcess.start();
    try {
      if (options.sections.includes('latency')) {
        const latency = await runLatencySection(options.latency, server, progress);
        result.latency = { ...latency, ratios: latencyRatios(latency) };
      }
      if (options.sections.includes('scale')) result.scale = await runScaleSection(options.scale, server, progress);
    } finally {
      await server.stop();
    }
  }
  if (options.sections.includes('recognizer')) {
    progress('recognizer');
    try {
      result.recognizer = await measureRecognizer({ realtime: !options.quick });
    } catch (error) {
      result.recognizer = { error: (error as Error).message };
    }
  }
  if (options.sections.includes('end-to-end') && !options.quick) {
    progress('end-to-end');
    try {
      result.endToEnd = await measureEndToEnd();
    } catch (error) {
      result.endToEnd = { error: (error as Error).message };
    }
  }
  result.goals = evaluateGoals(result);
  result.durationSeconds = (performance.now() - started) / 1000;
  return result;
}

/** Writes the result as <date>.json and latest.json; returns the dated file's path. */
async function writeResult(result: BenchResult, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${result.date.replace(/[:.]/g, '-')}.json`);
  const json = JSON.stringify(result, null, 2) + '\n';
  await writeFile(file, json);
  await writeFile(join(dir, 'latest.json'), json);
  return file;
}

function failedSections(result: BenchResult): string[] {
  const failed: string[] = [];
  if (result.latency?.failures.length) failed.push('latency');
  if (result.scale?.stoppedAt && result.scale.steps.length === 0) failed.push('scale');
  if (result.recognizer && 'error' in result.recognizer) failed.push('recognizer');
  if (result.endToEnd && 'error' in result.endToEnd) failed.push('end-to-end');
  return failed;
}

async function main(): Promise<number> {
  let options: BenchOptions | undefined;
  try {
    options = parseBenchOptions(process.argv.slice(2), join(REPO, 'bench', 'results'));
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`earshot bench: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  const result = await runBench(options, (line) => process.stderr.write(`  ${line}\n`));
  const file = await writeResult(result, options.outDir);
  process.stdout.write(formatReport(result) + `\n\nfigures: ${file}\n`);
  const failed = failedSections(result);
  if (failed.length) process.stderr.write(`earshot bench: section(s) failed: ${failed.join(', ')}\n`);
  return failed.length ? 1 : 0;
}

process.exitCode = await main();
