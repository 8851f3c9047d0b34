import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { V3TestClient } from '../support/v3-test-client.js';
import { makeSelfSignedCert } from '../support/tls-cert.js';
import { REASONS } from '../../src/transport/protocol.js';
import { AUDIO, CHUNKS_100MS } from './helpers.js';

/** The real command, as a user runs it. */
const CLI = fileURLToPath(new URL('../../../bin/earshot.cjs', import.meta.url));

interface Running {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stdout: () => string;
  stderr: () => string;
}

describe('earshot serve (command)', function () {
  this.timeout(20000);
  const dir = mkdtempSync(join(tmpdir(), 'earshot-cli-'));
  const scriptFile = join(dir, 'script.yaml');
  writeFileSync(scriptFile, 'turns:\n  - { text: "Hello, world.", tone_hz: 500 }\n  - { text: "Second turn here.", tone_hz: 800 }\n');
  const children: ChildProcessWithoutNullStreams[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });

  function run(args: string[]): { child: ChildProcessWithoutNullStreams; out: { stdout: string; stderr: string } } {
    const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    const out = { stdout: '', stderr: '' };
    child.stdout.on('data', (data: Buffer) => (out.stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (out.stderr += data.toString()));
    return { child, out };
  }

  async function start(args: string[]): Promise<Running> {
    const { child, out } = run(['--port', '0', '--script', scriptFile, ...args]);
    const deadline = Date.now() + 8000;
    while (!out.stdout.includes('\n')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start: ${out.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const match = /^earshot serve listening on (wss?:\/\/127\.0\.0\.1:\d+\/v3\/ws)\n$/.exec(out.stdout);
    expect(match, out.stdout).to.not.equal(null);
    return { child, url: match?.[1] ?? '', stdout: () => out.stdout, stderr: () => out.stderr };
  }

  async function failure(args: string[]): Promise<{ code: number | null; stderr: string; stdout: string }> {
    const { child, out } = run(args);
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, ...out };
  }

  async function exitWithin(child: ChildProcessWithoutNullStreams, ms: number): Promise<{ code: number | null; afterMs: number }> {
    const started = Date.now();
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    return { code, afterMs: Date.now() - started };
  }

  it('prints its URL, serves sessions with the given keys, and on SIGTERM closes them with 1001 and exits 0', async () => {
    const server = await start(['--api-key', 'k1', '--api-key', 'k2', '--log-level', 'info']);
    const client = await V3TestClient.begin(server.url, { apiKey: 'k2', params: { sample_rate: 16000, format_turns: true } });
    for (const chunk of CHUNKS_100MS) client.sendAudio(chunk);
    await client.waitFor((m) => m.type === 'Turn' && m.turn_order === 1 && m.turn_is_formatted === true);
    const refused = await V3TestClient.connect(server.url, { apiKey: 'k3' });
    expect(await refused.waitClosed()).to.deep.include({ code: 1008, reason: REASONS.invalidAuth });
    server.child.kill('SIGTERM');
    expect(await client.waitClosed()).to.deep.include({ code: 1001 });
    const exit = await exitWithin(server.child, 6000);
    expect(exit.code).to.equal(0);
    expect(server.stdout().split('\n').filter(Boolean)).to.have.length(1);
    // Logs are JSON lines on stderr.
    expect(server.stderr()).to.include('"msg":"session accepted"');
    expect(AUDIO.turns).to.have.length(2);
  });

  it('exits 0 on SIGINT when idle', async () => {
    const server = await start(['--log-level', 'error']);
    server.child.kill('SIGINT');
    expect((await exitWithin(server.child, 6000)).code).to.equal(0);
    expect(server.stderr()).to.equal('');
  });

  it('serves wss:// with --tls-cert and --tls-key', async () => {
    const cert = makeSelfSignedCert(dir);
    const server = await start(['--tls-cert', cert.certFile, '--tls-key', cert.keyFile]);
    expect(server.url).to.match(/^wss:\/\//);
    const client = await V3TestClient.begin(server.url, { ca: cert.cert });
    client.close();
    server.child.kill('SIGTERM');
    expect((await exitWithin(server.child, 6000)).code).to.equal(0);
  });

  it('applies limits and faults given as flags', async () => {
    const server = await start(['--max-sessions', '1', '--fault', 'drop:300@0', '--lookahead-seconds', '0.2']);
    const first = await V3TestClient.begin(server.url);
    const second = await V3TestClient.connect(server.url);
    expect((await second.waitClosed()).code).to.equal(3009);
    expect((await first.waitClosed()).code).to.equal(1006);
    const third = await V3TestClient.begin(server.url);
    for (const chunk of CHUNKS_100MS.slice(0, 10)) third.sendAudio(chunk);
    expect((await third.waitClosed()).code).to.equal(3007);
    server.child.kill('SIGTERM');
    await exitWithin(server.child, 6000);
  });

  describe('bad flags: a message naming the file or flag and the problem', () => {
    const cases: [string, () => string[], RegExp][] = [
      ['a certificate file that does not exist', () => ['--script', scriptFile, '--tls-cert', join(dir, 'nope.pem'), '--tls-key', join(dir, 'nope.key')], /--tls-cert \S*nope\.pem: cannot read the file: no such file/],
      ['a certificate without its key', () => ['--script', scriptFile, '--tls-cert', scriptFile], /--tls-cert and --tls-key go together/],
      ['a file that is not a certificate', () => ['--script', scriptFile, '--tls-cert', scriptFile, '--tls-key', scriptFile], /--tls-cert \S*script\.yaml: not a PEM certificate/],
      ['a script with errors', () => {
        const bad = join(dir, 'bad.yaml');
        writeFileSync(bad, 'turns:\n  - { text: "Hi", tone_hz: 99999 }\n');
        return ['--script', bad];
      }, /script \S*bad\.yaml is invalid:\n\s+\S*bad\.yaml:2:28: turns\[0\]\.tone_hz: must be a number from 50 to 8000, got 99999/],
      ['a script that does not exist', () => ['--script', join(dir, 'absent.yaml')], /absent\.yaml: cannot read the script: no such file/],
      ['the script engine without a script', () => [], /--engine script needs --script FILE/],
    ];
    for (const [label, args, message] of cases) {
      it(label, async () => {
        const result = await failure(['--port', '0', ...args()]);
        expect(result.code).to.equal(2);
        expect(result.stderr).to.match(message);
        expect(result.stderr).to.not.match(/\n\s+at /);
        expect(result.stdout).to.equal('');
      });
    }

    it('an invalid fault, port or engine name (commander usage errors)', async () => {
      const fault = await failure(['--script', scriptFile, '--fault', 'explode:5']);
      expect(fault.code).to.equal(1);
      expect(fault.stderr).to.match(/invalid fault "explode:5": unknown fault "explode"\. Valid forms: drop:MS/);
      const port = await failure(['--script', scriptFile, '--port', 'http']);
      expect(port.stderr).to.match(/--port <n>.*expected a port number from 0 to 65535/);
      const engine = await failure(['--engine', 'whisper']);
      expect(engine.stderr).to.match(/Allowed choices are script, local/);
    });
  });
});
