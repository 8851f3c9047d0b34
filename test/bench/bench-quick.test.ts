/**
 * The benchmark harness in its quick mode, run as `npm run bench` runs it (a
 * child process, its own loopback server, real pipelines): it must produce a
 * well-formed result with every design under every condition, and refuse bad
 * options with a message. No figure is judged here: benchmarks measure, tests
 * never time.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONDITIONS, VARIANTS } from '../../bench/frame-latency/scenario.js';
import { distribution } from '../../bench/lib/distribution.js';
import type { BenchResult } from '../../bench/report.js';

const run = promisify(execFile);
const RUN = new URL('../../bench/run.js', import.meta.url).pathname;

function expectDistribution(d: { n: number; p50: number; p99: number; p999: number; max: number }, what: string): void {
  expect(d.n, `${what}: frames measured`).to.be.greaterThan(0);
  for (const key of ['p50', 'p99', 'p999', 'max'] as const) expect(d[key], `${what}: ${key}`).to.be.a('number').and.to.be.at.least(0);
  expect(d.p50, `${what}: p50 <= p99`).to.be.at.most(d.p99);
  expect(d.p99, `${what}: p99 <= p99.9`).to.be.at.most(d.p999);
  expect(d.p999, `${what}: p99.9 <= max`).to.be.at.most(d.max);
}

describe('npm run bench -- --quick', function () {
  this.timeout(120_000);
  let dir: string;
  let stdout: string;
  let result: BenchResult;
  let files: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-bench-test-'));
    ({ stdout } = await run(process.execPath, [RUN, '--quick', '--sections', 'latency,scale', '--out', dir], { maxBuffer: 16 * 1024 * 1024 }));
    files = await readdir(dir);
    result = JSON.parse(await readFile(join(dir, 'latest.json'), 'utf8')) as BenchResult;
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the result twice: under its date and as latest.json', async () => {
    expect(files).to.include('latest.json');
    const dated = files.filter((f) => /^\d{4}-\d\d-\d\dT[\d-]+Z\.json$/.test(f));
    expect(dated).to.have.length(1);
    expect(await readFile(join(dir, dated[0]!), 'utf8')).to.equal(await readFile(join(dir, 'latest.json'), 'utf8'));
  });

  it('records the machine, the Node version, the date and the options', () => {
    expect(result.benchmark).to.equal('earshot');
    expect(result.mode).to.equal('quick');
    expect(Number.isNaN(Date.parse(result.date))).to.equal(false);
    expect(result.machine.node).to.equal(process.version);
    expect(result.machine.cores).to.be.greaterThan(0);
    expect(result.machine.cpuModel).to.be.a('string').with.length.greaterThan(0);
    expect(result.options.latency.variants).to.deep.equal([...VARIANTS]);
    expect(result.options.latency.conditions).to.deep.equal([...CONDITIONS]);
    expect(result.durationSeconds).to.be.greaterThan(0);
  });

  it('has every design under every condition, each with latency, losses, allocation, CPU and memory', () => {
    const latency = result.latency!;
    expect(latency.failures).to.deep.equal([]);
    const seen = latency.results.map((r) => `${r.spec.variant}/${r.spec.condition}`);
    expect(seen.sort()).to.deep.equal(VARIANTS.flatMap((v) => CONDITIONS.map((c) => `${v}/${c}`)).sort());
    for (const r of latency.results) {
      const what = `${r.spec.variant}/${r.spec.condition}`;
      expectDistribution(r.latencyMs, what);
      expect(r.framesExpected, `${what}: frames expected`).to.equal((r.spec.pipelines * r.sourceDurationMs) / 50);
      expect(r.framesLost, `${what}: frames lost`).to.be.a('number').and.at.least(0);
      expect(r.serverSessions, `${what}: sessions the server saw`).to.be.at.least(r.spec.pipelines);
      expect(r.heapBytesPerFrame, `${what}: heap bytes per frame`).to.be.a('number').and.greaterThan(0);
      expect(r.cpu.perStreamPercentOfCore, `${what}: CPU per stream`).to.be.a('number').and.greaterThan(0);
      expect(r.memory.rssBytes, `${what}: RSS`).to.be.greaterThan(0);
      expect(Object.keys(r.roles), `${what}: threads measured`).to.include('main');
      const path = r.spec.variant === 'as-built' ? ['audio-host', 'transport'] : r.spec.variant === 'main-thread' ? ['capture'] : ['capture', 'transport'];
      expect(Object.keys(r.roles), `${what}: threads measured`).to.include.members(path);
    }
  });

  it('measures the bare hand-off floor and the ratio of every design to as-built, per condition', () => {
    const latency = result.latency!;
    for (const condition of CONDITIONS) expectDistribution(latency.floor[condition]!, `floor/${condition}`);
    const ratios = latency.ratios.map((r) => `${r.variant}/${r.condition}`);
    const others = VARIANTS.filter((v) => v !== 'as-built');
    expect(ratios.sort()).to.deep.equal(others.flatMap((v) => CONDITIONS.map((c) => `${v}/${c}`)).sort());
    for (const r of latency.ratios) expect(r.p99).to.be.a('number').and.greaterThan(0);
  });

  it('climbs the scale steps and reports the cost of each added pipeline', () => {
    const scale = result.scale!;
    expect(scale.steps.map((s) => s.pipelines)).to.deep.equal([1, 2]);
    for (const step of scale.steps) {
      expect(step.result.spec.variant).to.equal('as-built');
      expect(step.processCpuPercent).to.be.greaterThan(0);
      expect(step.rssBytes).to.be.greaterThan(0);
    }
    expect(scale.maxPipelinesWithoutLoss).to.be.a('number');
    expect(scale.rssBytesPerPipeline).to.be.a('number');
  });

  it('states every goal with what was measured, and prints the tables', () => {
    expect(result.goals.map((g) => g.goal)).to.have.length(6);
    for (const goal of result.goals) {
      expect(goal.measured).to.be.a('string').with.length.greaterThan(0);
      expect([true, false, null]).to.include(goal.met);
    }
    // Too few pipelines in quick mode to judge the 64-pipeline goal.
    expect(result.goals.find((g) => g.goal.includes('64 concurrent'))?.met).to.equal(null);
    expect(stdout).to.include('| design');
    expect(stdout).to.include('| pipelines');
    expect(stdout).to.include('Goals:');
    expect(stdout).to.include(`figures: ${join(dir, '')}`);
  });

  it('refuses an unknown section, naming the valid ones', async () => {
    const failed = await run(process.execPath, [RUN, '--sections', 'latency,speed']).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed?.code).to.equal(2);
    expect(failed?.stderr).to.include('--sections: unknown "speed"; valid: latency, scale, recognizer');
  });
});

describe('bench percentiles', () => {
  it('are nearest-rank on the exact sample', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 - i);
    expect(distribution(values)).to.deep.equal({ n: 1000, p50: 500, p99: 990, p999: 999, max: 1000, mean: 500.5 });
    expect(distribution([7])).to.include({ n: 1, p50: 7, p99: 7, p999: 7, max: 7 });
  });
});
