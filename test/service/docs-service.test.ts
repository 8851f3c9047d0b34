/**
 * docs/service.md and examples/service agree with the code: the exit codes
 * and metrics the page lists are the ones earshot has, the systemd unit
 * passes `systemd-analyze verify`, the launchd agent is a well-formed plist
 * with the keys it needs, and the example files load with the variables the
 * example environment file provides.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse as parsePlist } from 'plist';
import { loadPipelineFile, loadPipelineText } from '../../src/config/load.js';
import { ExitCode } from '../../src/service/exit-codes.js';
import { ServiceMetrics } from '../../src/service/metrics.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (path: string) => readFile(resolve(root, path), 'utf8');
const DEFAULT_SHUTDOWN_MS = loadPipelineText('version: 1\npipelines:\n  p: { source: { type: synthetic }, transcriber: { type: local }, sinks: [{ type: console }] }\n', 'p.yaml', {}).config.service
  .shutdown_timeout_ms;

/** Rows of the markdown table under `heading`: the first cell of each, without backticks. */
function firstColumn(markdown: string, heading: string): string[] {
  const section = markdown.slice(markdown.indexOf(heading));
  const table = /\n(\|.*\|\n)+/.exec(section)?.[0] ?? '';
  return table
    .trim()
    .split('\n')
    .slice(2)
    .map((row) => (row.split('|')[1] ?? '').trim().replace(/`/g, ''));
}

function envFile(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/^([A-Z_][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
}

describe('docs/service.md and examples/service', () => {
  it('lists exactly the exit codes earshot run uses', async () => {
    const codes = firstColumn(await read('docs/service.md'), '### Exit codes').map(Number);
    expect(codes).to.deep.equal(Object.values(ExitCode));
  });

  it('lists exactly the metrics /metrics serves (besides the process ones)', async () => {
    const documented = firstColumn(await read('docs/service.md'), '**`GET /metrics`**');
    const served = new ServiceMetrics(() => [])
      .registry.getMetricsAsArray()
      .map((m) => m.name)
      .filter((name) => !name.startsWith('earshot_process_'));
    expect([...documented].sort()).to.deep.equal([...served].sort());
  });

  it('shows log lines that are JSON as earshot writes them', async () => {
    const block = /```json\n(\{"level"[\s\S]*?)```/.exec(await read('docs/service.md'))?.[1] ?? '';
    const lines = block.trim().split('\n');
    expect(lines.length).to.be.greaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).to.include.keys('level', 'time', 'pipeline', 'session_id', 'msg');
  });

  it('gives a systemd unit that verifies, reloads with SIGHUP, outwaits the graceful stop and does not restart a broken file', async () => {
    const unit = resolve(root, 'examples/service/earshot.service');
    const verify = await run('systemd-analyze', ['verify', unit]).catch((error: { stdout: string; stderr: string }) => error);
    expect(`${verify.stdout}${verify.stderr}`.trim(), 'systemd-analyze verify').to.equal('');
    const text = await readFile(unit, 'utf8');
    const setting = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];
    expect(setting('ExecStart')).to.match(/ earshot run \S+\.yaml$/);
    expect(setting('ExecReload')).to.equal('/bin/kill -HUP $MAINPID');
    expect(setting('EnvironmentFile')).to.match(/earshot\.env$/);
    expect(Number(setting('RestartPreventExitStatus'))).to.equal(ExitCode.configInvalid);
    expect(Number(setting('TimeoutStopSec')) * 1000).to.be.greaterThan(DEFAULT_SHUTDOWN_MS);
  });

  it('gives a launchd agent that reads the environment file, becomes earshot and outwaits the graceful stop', async () => {
    const agent = parsePlist(await read('examples/service/dev.earshot.plist')) as {
      Label: string;
      ProgramArguments: string[];
      KeepAlive: { SuccessfulExit: boolean };
      ExitTimeOut: number;
      RunAtLoad: boolean;
    };
    expect(agent.Label).to.equal('dev.earshot');
    const script = agent.ProgramArguments[2] ?? '';
    expect(agent.ProgramArguments.slice(0, 2)).to.deep.equal(['/bin/sh', '-c']);
    expect(script).to.include('. "$HOME/.config/earshot/earshot.env"');
    expect(script).to.match(/exec earshot run "\$HOME\/\.config\/earshot\/pipelines\.yaml"/);
    expect(agent.KeepAlive.SuccessfulExit).to.equal(false);
    expect(agent.RunAtLoad).to.equal(true);
    expect(agent.ExitTimeOut * 1000).to.be.greaterThan(DEFAULT_SHUTDOWN_MS);
  });

  it('has example pipeline files that load with the variables of the example environment file', async () => {
    const env = envFile(await read('examples/service/earshot.env.example'));
    expect(Object.keys(env)).to.include('ASSEMBLYAI_API_KEY');
    for (const example of ['examples/service/pipelines.yaml', 'examples/meeting.yaml']) {
      const loaded = await loadPipelineFile(resolve(root, example), { env });
      expect(loaded.warnings, example).to.deep.equal([]);
    }
  });
});
