/** `earshot validate`: what it prints and the exit code, on real files. */
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { validateCommand, type ValidateReport } from '../../src/config/validate.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function run(file: string, json = false, env: Record<string, string> = {}) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await validateCommand(file, { json, env, stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const GOOD = `version: 1
pipelines:
  me:
    source: { type: synthetic }
    transcriber: { type: local }
    sinks: [{ type: console }]
  them:
    source: { type: synthetic }
    transcriber: { type: local }
    sinks: [{ type: file, path: "{pipeline}.txt", format: text }]
`;

const WARNED = `version: 1
pipelines:
  solo:
    source: { type: portaudio, device: "BlackHole.*" }
    transcriber: { type: local }
    sinks: [{ type: console }]
`;

const BROKEN = `version: 1
pipelines:
  me:
    source: { type: synthetic, frame_ms: 5 }
    transcriber: { type: assemblyai, api_key: \${NO_SUCH_KEY} }
    sinks:
      - { type: fil, path: a.txt }
      - { type: console, colour: true }
`;

describe('config: validate command', () => {
  let dir: string;
  const file = (name: string) => path.join(dir, name);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'earshot-validate-'));
    await writeFile(file('good.yaml'), GOOD);
    await writeFile(file('warned.yaml'), WARNED);
    await writeFile(file('broken.yaml'), BROKEN);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('says ok with the pipeline names and exits 0', async () => {
    const result = await run(file('good.yaml'));
    expect(result).to.deep.equal({ code: 0, stdout: `${file('good.yaml')}: ok (2 pipelines: me, them)\n`, stderr: '' });
  });

  it('prints warnings but still exits 0', async () => {
    const result = await run(file('warned.yaml'));
    expect(result.code).to.equal(0);
    expect(result.stdout.split('\n')).to.deep.equal([
      `${file('warned.yaml')}:4:40: pipelines.solo.source.device: warning: "BlackHole.*" is matched as plain text (a device name or part of one); for a regular expression write /BlackHole.*/`,
      `${file('warned.yaml')}: ok (1 pipeline: solo, 1 warning)`,
      '',
    ]);
  });

  it('prints every problem as file:line:col: path: message in file order and exits 1', async () => {
    const result = await run(file('broken.yaml'));
    const f = file('broken.yaml');
    expect(result.code).to.equal(1);
    expect(result.stderr).to.equal('');
    expect(result.stdout.split('\n')).to.deep.equal([
      `${f}:4:42: pipelines.me.source.frame_ms: must be between 10 and 1000, got 5`,
      `${f}:5:47: pipelines.me.transcriber.api_key: environment variable NO_SUCH_KEY is not set`,
      `${f}:7:17: pipelines.me.sinks[0].type: unknown sink type 'fil'; did you mean 'file'? valid: console, file, webhook, wav, plugin`,
      `${f}:8:26: pipelines.me.sinks[1].colour: unknown key 'colour'; did you mean 'color'?`,
      '',
    ]);
  });

  it('says clearly when the file cannot be read, on stderr, and exits 1', async () => {
    const result = await run(file('missing.yaml'));
    expect(result).to.deep.equal({
      code: 1,
      stdout: '',
      stderr: `earshot: ${file('missing.yaml')}: cannot read the pipeline file: no such file (ENOENT)\n`,
    });
  });

  it('--json prints the diagnostics as one JSON document', async () => {
    const broken = await run(file('broken.yaml'), true);
    expect(broken.code).to.equal(1);
    const report = JSON.parse(broken.stdout) as ValidateReport;
    expect(report.ok).to.equal(false);
    expect(report.pipelines).to.deep.equal([]);
    expect(report.diagnostics).to.have.length(4);
    expect(report.diagnostics[0]).to.deep.equal({
      file: file('broken.yaml'),
      line: 4,
      col: 42,
      path: 'pipelines.me.source.frame_ms',
      message: 'must be between 10 and 1000, got 5',
      severity: 'error',
    });

    const good = await run(file('warned.yaml'), true);
    expect(good.code).to.equal(0);
    const okReport = JSON.parse(good.stdout) as ValidateReport;
    expect(okReport).to.deep.include({ file: file('warned.yaml'), ok: true, pipelines: ['solo'] });
    expect(okReport.diagnostics.map((d) => d.severity)).to.deep.equal(['warning']);

    const missing = await run(file('missing.yaml'), true);
    expect(missing.code).to.equal(1);
    expect((JSON.parse(missing.stdout) as ValidateReport).diagnostics[0]).to.deep.include({ line: 0, severity: 'error' });
  });

  it('reads variables from the environment it is given', async () => {
    const result = await run(file('broken.yaml'), false, { NO_SUCH_KEY: 'set-now-0123' });
    expect(result.stdout).to.not.include('NO_SUCH_KEY');
    expect(result.stdout.trim().split('\n')).to.have.length(3);
  });
});
