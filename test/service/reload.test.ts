/**
 * SIGHUP with a file that does not load: the service refuses it, logs every
 * problem located (file:line:col), and the running pipeline goes on with the
 * same capture and transcriber session. Then a reload that changes only the
 * `service:` section: the log level applies at once, the health endpoint
 * moves to its new port, and no pipeline restarts.
 */
import { expect } from 'chai';
import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EarshotProcess, fetchHealth, sample, scrape, ScriptServer, waitFor, writeToneWav } from './harness.js';

const API_KEY = 'reload-test-key-0123456789';

function pipelineFile(service: string, sinkType = 'file'): string {
  return `version: 1
service:
${service}
pipelines:
  meeting:
    source: { type: file, path: tones.wav, loop: true }
    transcriber: { type: assemblyai, api_key: \${EARSHOT_TEST_KEY}, url: \${EARSHOT_TEST_URL} }
    sinks:
      - { type: ${sinkType}, path: out/meeting.jsonl }
`;
}

const SERVICE_BEFORE = '  http: { host: 127.0.0.1, port: 0 }\n  log: { level: info, format: json }';

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
  const address = probe.address();
  await new Promise<void>((done) => probe.close(() => done()));
  return typeof address === 'object' && address ? address.port : 0;
}

describe('earshot run: reloads that change nothing running', function () {
  this.timeout(60000);
  let dir: string;
  let server: ScriptServer;
  let earshot: EarshotProcess;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-reload-'));
    server = await ScriptServer.start(API_KEY);
    await writeToneWav(join(dir, 'tones.wav'));
    await writeFile(join(dir, 'pipeline.yaml'), pipelineFile(SERVICE_BEFORE));
    earshot = EarshotProcess.run('pipeline.yaml', { cwd: dir, env: { EARSHOT_TEST_KEY: API_KEY, EARSHOT_TEST_URL: server.wsUrl } });
  });

  afterEach(async () => {
    earshot.kill();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function streamingSession(url: string): Promise<string> {
    let session: string | undefined;
    await waitFor(async () => {
      const health = await fetchHealth(url);
      const meeting = health.pipelines.meeting;
      session = meeting?.transcriber === 'streaming' ? meeting.session_id : undefined;
      return session !== undefined;
    }, 'the pipeline to stream');
    return session as string;
  }

  it('refuses an invalid file, logs each problem with file:line:col, and keeps the old config running', async () => {
    const url = await earshot.httpUrl();
    const session = await streamingSession(url);

    await writeFile(join(dir, 'pipeline.yaml'), pipelineFile(SERVICE_BEFORE, 'fil'));
    earshot.signal('SIGHUP');
    const rejected = await earshot.waitForLog((r) => r.msg.startsWith('reload rejected'), 'the reload to be rejected');
    expect(rejected.msg).to.equal('reload rejected: pipeline.yaml has 1 problem; the running pipelines keep the previous config');
    const problem = earshot.logs.find((r) => r.level === 50 && r.path === 'pipelines.meeting.sinks[0].type');
    expect(problem).to.include({ file: 'pipeline.yaml', line: 10, col: 17 });
    expect(problem?.msg).to.match(/^pipeline\.yaml:10:17: pipelines\.meeting\.sinks\[0\]\.type: unknown sink type 'fil'; did you mean 'file'\?/);

    const health = await fetchHealth(url);
    expect(health.pipelines.meeting).to.include({ state: 'running', transcriber: 'streaming', session_id: session });
    expect(server.opened).to.have.length(1);
    expect(server.closed).to.have.length(0);
    expect(sample(await scrape(url), 'earshot_config_reloads_total', { result: 'rejected' })).to.equal(1);

    // Ctrl+C stops as SIGTERM does: the session ends with Terminate.
    earshot.signal('SIGINT');
    expect((await earshot.exitWithin(20000)).code).to.equal(0);
    expect(server.closed.map((s) => [s.id, s.terminationSent])).to.deep.equal([[session, true]]);
  });

  it('applies a new log level at once and moves the health endpoint, without restarting the pipeline', async () => {
    const oldUrl = await earshot.httpUrl();
    const session = await streamingSession(oldUrl);
    const port = await freePort();

    await writeFile(join(dir, 'pipeline.yaml'), pipelineFile(`  http: { host: 127.0.0.1, port: ${port} }\n  log: { level: warn, format: json }`));
    earshot.signal('SIGHUP');
    const newUrl = `http://127.0.0.1:${port}`;
    await waitFor(() => fetchHealth(newUrl).then(() => true, () => false), 'the endpoint on its new port');
    const health = await fetchHealth(newUrl);
    expect(health.pipelines.meeting).to.include({ state: 'running', session_id: session });
    expect(server.opened).to.have.length(1);
    let oldClosed = false;
    await fetchHealth(oldUrl).catch(() => (oldClosed = true));
    expect(oldClosed, 'the old port closed').to.equal(true);

    const linesBeforeStop = earshot.logs.length;
    earshot.signal('SIGTERM');
    expect((await earshot.exitWithin(20000)).code).to.equal(0);
    // At warn, the info lines of a graceful stop are no longer written.
    const stopLines = earshot.logs.slice(linesBeforeStop);
    expect(stopLines.filter((r) => r.level < 40)).to.deep.equal([]);
  });
});

describe('earshot run: a pipeline that cannot start on a reload', function () {
  this.timeout(60000);
  let dir: string;
  let server: ScriptServer;
  let earshot: EarshotProcess;

  const file = (notesModule: string) => `version: 1
service: { http: { port: 0 }, log: { format: json } }
x-transcriber: &transcriber { type: assemblyai, api_key: \${EARSHOT_TEST_KEY}, url: \${EARSHOT_TEST_URL} }
pipelines:
  meeting:
    source: { type: file, path: tones.wav, loop: true }
    transcriber: *transcriber
    sinks: [{ type: file, path: out/meeting.jsonl }]
  notes:
    source: { type: file, path: tones.wav, loop: true }
    transcriber: *transcriber
    sinks: [{ type: plugin, module: ${notesModule} }]
`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-reload-fail-'));
    server = await ScriptServer.start(API_KEY);
    await writeToneWav(join(dir, 'tones.wav'));
    await writeFile(join(dir, 'notes.mjs'), 'export default () => ({ write() {} });\n');
    await writeFile(join(dir, 'pipeline.yaml'), file('./notes.mjs'));
    earshot = EarshotProcess.run('pipeline.yaml', { cwd: dir, env: { EARSHOT_TEST_KEY: API_KEY, EARSHOT_TEST_URL: server.wsUrl } });
  });

  after(async () => {
    earshot.kill();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is reported failed while the others run on, and the next reload starts it again', async () => {
    const url = await earshot.httpUrl();
    await waitFor(async () => (await fetchHealth(url)).status === 'ok', 'both pipelines to stream');
    const meetingSession = (await fetchHealth(url)).pipelines.meeting?.session_id;

    await writeFile(join(dir, 'pipeline.yaml'), file('./missing.mjs'));
    earshot.signal('SIGHUP');
    await waitFor(async () => (await fetchHealth(url)).pipelines.notes?.state === 'failed', 'the notes pipeline to fail');
    const failing = await fetchHealth(url);
    expect(failing.httpStatus).to.equal(503);
    expect(failing.pipelines.notes?.error).to.equal(`pipeline notes: sink plugin#1: plugin "./missing.mjs" not found: no file at ${join(dir, 'missing.mjs')}`);
    expect(failing.pipelines.meeting).to.include({ state: 'running', session_id: meetingSession });

    await writeFile(join(dir, 'pipeline.yaml'), file('./notes.mjs'));
    earshot.signal('SIGHUP');
    await waitFor(async () => (await fetchHealth(url)).status === 'ok', 'the notes pipeline to run again');
    expect((await fetchHealth(url)).pipelines.meeting?.session_id).to.equal(meetingSession);

    earshot.signal('SIGTERM');
    expect((await earshot.exitWithin(20000)).code).to.equal(0);
  });
});
