/**
 * What `earshot run` exits with, one class at a time, as a supervisor sees
 * it: 0 ok, 1 config invalid, 3 a pipeline failed for good, 4 could not
 * start, 130 forced (a second signal, or the graceful stop outran its bound).
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../src/service/exit-codes.js';
import { EarshotProcess, fetchHealth, ScriptServer, SCRIPT_TEXTS, waitFor, writeToneWav } from './harness.js';

const API_KEY = 'exit-code-test-key-0123456789';

/** A plugin whose flush and stop never settle (they are bounded at 10 s each by the runner). */
const STUCK_PLUGIN = `export default () => ({
  write() {},
  flush: () => new Promise(() => {}),
  stop: () => new Promise(() => {}),
});
`;

describe('earshot run: exit codes', function () {
  this.timeout(60000);
  let dir: string;
  let server: ScriptServer;
  let earshot: EarshotProcess | undefined;
  let blocker: Server | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-exit-'));
    server = await ScriptServer.start(API_KEY);
    await writeToneWav(join(dir, 'tones.wav'));
    await writeFile(join(dir, 'stuck.mjs'), STUCK_PLUGIN);
  });

  afterEach(async () => {
    earshot?.kill();
    earshot = undefined;
    await new Promise<void>((done) => (blocker ? blocker.close(() => done()) : done()));
    blocker = undefined;
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function run(yaml: string, env: Record<string, string> = {}): Promise<EarshotProcess> {
    await writeFile(join(dir, 'pipeline.yaml'), yaml);
    earshot = EarshotProcess.run('pipeline.yaml', { cwd: dir, env: { EARSHOT_TEST_KEY: API_KEY, EARSHOT_TEST_URL: server.wsUrl, ...env } });
    return earshot;
  }

  const pipeline = (name: string, options: { loop?: boolean; key?: string; sinks?: string } = {}) => `  ${name}:
    source: { type: file, path: tones.wav, loop: ${options.loop ?? true} }
    transcriber: { type: assemblyai, api_key: "${options.key ?? '${EARSHOT_TEST_KEY}'}", url: \${EARSHOT_TEST_URL} }
    sinks:
${options.sinks ?? `      - { type: file, path: out/${name}.txt, format: text }`}
`;

  it(`${ExitCode.ok}: every source came to its end, its transcript complete`, async () => {
    const earshot = await run(`version: 1\nservice: { log: { format: json } }\npipelines:\n${pipeline('once', { loop: false })}`);
    expect((await earshot.exitWithin(30000)).code).to.equal(ExitCode.ok);
    const text = await readFile(join(dir, 'out/once.txt'), 'utf8');
    expect(text.split('\n').filter((l) => l !== '')).to.deep.equal(SCRIPT_TEXTS.map((t) => t.toLowerCase().replace(/[^a-z ]/g, '')));
  });

  it(`${ExitCode.ok}: a graceful stop with the transcriber unreachable ends within its bound, saying what was lost`, async () => {
    const earshot = await run(`version: 1
service: { log: { format: json }, shutdown_timeout_ms: 3000 }
pipelines:
  meeting:
    source: { type: file, path: tones.wav, loop: true }
    transcriber: { type: assemblyai, api_key: \${EARSHOT_TEST_KEY}, url: "ws://127.0.0.1:9/v3/ws" }
    sinks: [{ type: file, path: out/meeting.txt, format: text }]
`);
    await earshot.waitForLog((r) => r.msg.startsWith('transcriber connection failed'), 'a failed connection attempt');
    earshot.signal('SIGTERM');
    // Within shutdown_timeout_ms the pipeline gives up on the unsent audio and stops: not a forced stop.
    expect((await earshot.exitWithin(15000)).code).to.equal(ExitCode.ok);
    expect(earshot.logs.some((r) => r.level === 50 && /^stopping with audio missing from the transcript: [0-9.]+ s never sent/.test(r.msg))).to.equal(true);
  });

  it(`${ExitCode.configInvalid}: the file is invalid; each problem is printed located and nothing starts`, async () => {
    const earshot = await run(`version: 1\npipelines:\n  meeting:\n    source: { type: file, path: tones.wav }\n    transcriber: { type: assemblyai, api_key: \${NOT_SET_ANYWHERE}, url: \${EARSHOT_TEST_URL} }\n    sinks: []\n`);
    expect((await earshot.exitWithin(10000)).code).to.equal(ExitCode.configInvalid);
    expect(earshot.stderr).to.include('pipeline.yaml:5:47: pipelines.meeting.transcriber.api_key: environment variable NOT_SET_ANYWHERE is not set');
    expect(earshot.stderr).to.include('pipeline.yaml:6:12: pipelines.meeting.sinks: must list at least one sink');
    expect(server.opened).to.have.length(0);
  });

  it(`${ExitCode.pipelineFailed}: a pipeline failed for good (its key refused); /healthz says so with 503 while the other runs`, async () => {
    const earshot = await run(`version: 1\nservice: { http: { port: 0 }, log: { format: json } }\npipelines:\n${pipeline('good')}${pipeline('refused', { key: 'not-the-right-key' })}`);
    const url = await earshot.httpUrl();
    let health: Awaited<ReturnType<typeof fetchHealth>> | undefined;
    await waitFor(async () => {
      health = await fetchHealth(url);
      return health.pipelines.refused?.state === 'failed' && health.pipelines.good?.transcriber === 'streaming';
    }, 'the refused pipeline to fail');
    expect(health?.httpStatus).to.equal(503);
    expect(health?.status).to.equal('failing');
    expect(health?.pipelines.refused?.error).to.match(/unauthorized|invalid api key/i);
    expect(health?.pipelines.good?.state).to.equal('running');
    earshot.signal('SIGTERM');
    expect((await earshot.exitWithin(20000)).code).to.equal(ExitCode.pipelineFailed);
    expect(earshot.logs.some((r) => r.level === 50 && r.pipeline === 'refused')).to.equal(true);
  });

  it(`${ExitCode.startFailed}: the service could not start (the HTTP port is taken), saying which address and why`, async () => {
    blocker = createServer();
    await new Promise<void>((done) => blocker?.listen(0, '127.0.0.1', done));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const earshot = await run(`version: 1\nservice: { http: { port: ${port} }, log: { format: json } }\npipelines:\n${pipeline('meeting')}`);
    expect((await earshot.exitWithin(15000)).code).to.equal(ExitCode.startFailed);
    const errors = earshot.logs.filter((r) => r.level >= 50).map((r) => r.msg);
    expect(errors).to.deep.equal([`cannot listen on http://127.0.0.1:${port} (service.http): EADDRINUSE`]);
    expect(server.opened).to.have.length(0);
  });

  it(`${ExitCode.forced}: a second SIGTERM stops at once when a sink will not finish`, async () => {
    const sinks = '      - { type: plugin, name: stuck, module: ./stuck.mjs }';
    const earshot = await run(`version: 1\nservice: { http: { port: 0 }, log: { format: json } }\npipelines:\n${pipeline('meeting', { sinks })}`);
    const url = await earshot.httpUrl();
    await waitFor(async () => (await fetchHealth(url)).pipelines.meeting?.transcriber === 'streaming', 'the pipeline to stream');
    earshot.signal('SIGTERM');
    await earshot.waitForLog((r) => r.msg.startsWith('SIGTERM: stopping gracefully'), 'the graceful stop');
    // The stuck sink holds the graceful stop for 20 s (flush, then stop, 10 s each); the second signal cuts it short.
    earshot.signal('SIGTERM');
    expect((await earshot.exitWithin(10000)).code).to.equal(ExitCode.forced);
    expect(earshot.logs.some((r) => r.msg === 'SIGTERM again: stopping now')).to.equal(true);
  });

  it(`${ExitCode.forced}: the graceful stop outran service.shutdown_timeout_ms`, async () => {
    const sinks = '      - { type: plugin, name: stuck, module: ./stuck.mjs }';
    const earshot = await run(`version: 1\nservice: { http: { port: 0 }, log: { format: json }, shutdown_timeout_ms: 1500 }\npipelines:\n${pipeline('meeting', { sinks })}`);
    const url = await earshot.httpUrl();
    await waitFor(async () => (await fetchHealth(url)).pipelines.meeting?.transcriber === 'streaming', 'the pipeline to stream');
    earshot.signal('SIGTERM');
    expect((await earshot.exitWithin(10000)).code).to.equal(ExitCode.forced);
    expect(earshot.logs.some((r) => r.level === 50 && r.msg === 'graceful stop took more than 1500 ms; stopping now')).to.equal(true);
  });
});
