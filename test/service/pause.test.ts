/**
 * Pause and resume as a user does it: `earshot run` in a child process (a
 * looping file at real-time pace into an in-process `earshot serve` script
 * engine), paused and resumed with `earshot pause` / `earshot resume`, then
 * reloaded with SIGHUP (unchanged, then with the pipeline's sinks changed)
 * and stopped with SIGTERM, all while paused. The pause must hold through the
 * reloads (no session opens) and the stop must be prompt and clean.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import { EARSHOT, EarshotProcess, fetchHealth, scrape, sample, ScriptServer, waitFor, writeToneWav, type Exit } from './harness.js';

const run = promisify(execFile);
const API_KEY = `sk-test-${randomBytes(12).toString('hex')}`;

function pipelineFile(transcriptPath: string): string {
  return `version: 1
service:
  http: { host: 127.0.0.1, port: 0 }
  log: { level: info, format: json }
pipelines:
  meeting:
    source: { type: file, path: tones.wav, loop: true }
    transcriber:
      type: assemblyai
      api_key: \${EARSHOT_TEST_KEY}
      url: \${EARSHOT_TEST_URL}
      params: { format_turns: true }
    sinks:
      - { type: file, path: ${transcriptPath} }
`;
}

/** `earshot pause|resume` against the running service: exit code and output. */
async function control(action: 'pause' | 'resume', pipeline: string, url: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [EARSHOT, action, pipeline, '--url', url]);
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout + failed.stderr };
  }
}

async function transcript(path: string): Promise<TranscriptEvent[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as TranscriptEvent);
}

describe('earshot pause / resume: a running service paused, reloaded and stopped while paused', function () {
  this.timeout(60000);
  let dir: string;
  let server: ScriptServer;
  let earshot: EarshotProcess;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-pause-service-'));
    server = await ScriptServer.start(API_KEY);
    await writeToneWav(join(dir, 'tones.wav'));
    await writeFile(join(dir, 'pipeline.yaml'), pipelineFile('out/a.jsonl'));
    earshot = EarshotProcess.run('pipeline.yaml', { cwd: dir, env: { EARSHOT_TEST_KEY: API_KEY, EARSHOT_TEST_URL: server.wsUrl } });
  });

  after(async () => {
    earshot?.kill();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pauses and resumes by command, keeps the pause through reloads, and stops promptly while paused', async () => {
    const url = await earshot.httpUrl();
    const finals = async (file: string): Promise<TranscriptEvent[]> => (await transcript(join(dir, 'out', file))).filter((e) => e.final);
    await waitFor(async () => (await finals('a.jsonl')).length >= 1, 'a first final turn', 20000);

    const unknown = await control('pause', 'nope', url);
    expect(unknown.code).to.equal(1);
    expect(unknown.out).to.include('answered 404: no pipeline named "nope"; pipelines: meeting');

    const paused = await control('pause', 'meeting', url);
    expect(paused, paused.out).to.deep.include({ code: 0 });
    await earshot.waitForLog((r) => r.pipeline === 'meeting' && r.msg.startsWith('paused ('), 'the paused log line');
    const again = await control('pause', 'meeting', url);
    expect(again.code).to.equal(1);
    expect(again.out).to.include('answered 409: pipeline meeting is already paused');
    await waitFor(() => server.server.sessions().length === 0, 'no open session');
    expect(server.closed[0]?.terminationSent, 'ended with Terminate -> Termination').to.equal(true);
    const health = await fetchHealth(url);
    expect(health.status).to.equal('ok');
    expect(health.pipelines.meeting).to.include({ state: 'paused', transcriber: 'paused', capture: 'running' });

    const resumed = await control('resume', 'meeting', url);
    expect(resumed, resumed.out).to.deep.include({ code: 0 });
    await waitFor(() => server.opened.length === 2 && server.server.sessions().length === 1, 'a new session');
    const before = (await finals('a.jsonl')).length;
    await waitFor(async () => (await finals('a.jsonl')).length > before, 'a final turn after resuming', 20000);
    expect((await control('pause', 'meeting', url)).code).to.equal(0);
    await waitFor(() => server.server.sessions().length === 0, 'the session closed again');

    // Reloads while paused: unchanged (the same run), then changed (a new run): neither opens a session.
    earshot.signal('SIGHUP');
    await earshot.waitForLog((r) => r.msg === 'reload: nothing changed', 'the unchanged reload');
    await writeFile(join(dir, 'pipeline.yaml'), pipelineFile('out/b.jsonl'));
    earshot.signal('SIGHUP');
    await earshot.waitForLog((r) => r.pipeline === 'meeting' && r.msg === 'restarting pipeline meeting: sinks changed; it stays paused', 'the restart');
    await waitFor(async () => (await fetchHealth(url)).pipelines.meeting?.state === 'paused', 'the new run, paused', 15000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(server.opened, 'sessions opened while paused').to.have.length(2);
    const metrics = await scrape(url);
    expect(sample(metrics, 'earshot_pipeline_paused', { pipeline: 'meeting' })).to.equal(1);
    expect(sample(metrics, 'earshot_frames_paused_total', { pipeline: 'meeting' })).to.be.greaterThan(0);
    expect(sample(metrics, 'earshot_frames_dropped_total', { pipeline: 'meeting', stage: 'backlog' })).to.equal(0);

    const signalledAt = Date.now();
    earshot.signal('SIGTERM');
    const exit: Exit = await earshot.exitWithin(10000);
    const stopMs = Date.now() - signalledAt;
    expect(exit).to.deep.equal({ code: 0, signal: null });
    expect(earshot.logs.filter((r) => r.level >= 50), 'no error logged').to.deep.equal([]);
    const stopped = earshot.logs.filter((r) => r.pipeline === 'meeting' && r.msg === 'pipeline stopped');
    expect(stopped.at(-1)?.finals, 'the paused run delivered nothing').to.equal(0);
    const all = await finals('a.jsonl');
    expect(all.map((e) => e.seq)).to.deep.equal([...all.map((e) => e.seq)].sort((a, b) => a - b));
    console.log(`      figures: ${JSON.stringify({ sigterm_to_exit_while_paused_ms: stopMs })}`);
  });
});
