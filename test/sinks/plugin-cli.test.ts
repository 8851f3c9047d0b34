/**
 * What a user sees when `earshot run` meets a plugin that cannot be used:
 * the real command in a child process, its exit code and its log, and the
 * sinks that had already started are stopped cleanly before it exits.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const earshot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/earshot.cjs');
const START_FAILED = 4;

interface Run {
  code: number | null;
  errors: string[];
}

function run(file: string): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [earshot, 'run', file], { timeout: 20000 }, (error, _stdout, stderr) => {
      const errors = stderr.split('\n').filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((entry) => entry.level >= 50)
        .map((entry) => entry.msg);
      done({ code: error ? (error.code as number | null) : 0, errors });
    });
  });
}

describe('earshot run with a plugin that cannot be used', function () {
  this.timeout(30000);
  let dir: string;

  async function pipelineFile(sinks: string): Promise<string> {
    const file = join(dir, 'pipeline.yaml');
    await writeFile(file, `version: 1
pipelines:
  meeting:
    source: { type: synthetic, duration_ms: 1000 }
    transcriber: { type: assemblyai, api_key: test-key, url: "ws://127.0.0.1:9/v3/ws" }
    sinks:
${sinks}
`);
    return file;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-plugin-cli-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits with the start-failure code, naming the pipeline, the sink, the module and every bad option', async () => {
    await writeFile(join(dir, 'chat.mjs'), `export default {
      optionsSchema: { type: 'object', required: ['room'], properties: { room: { type: 'string' } } },
      create: () => ({ write() {} }),
    };`);
    const file = await pipelineFile('      - { type: plugin, name: chat, module: ./chat.mjs, options: { rooom: standup } }');
    const result = await run(file);
    expect(result.code).to.equal(START_FAILED);
    expect(result.errors).to.deep.equal([
      'pipeline meeting: sink chat: plugin "./chat.mjs" has invalid options:\n  options.room: required option is missing (string)',
    ]);
  });

  it('says where it looked for a module that is not there', async () => {
    const file = await pipelineFile('      - { type: plugin, module: ./sinks/notes.mjs }');
    const result = await run(file);
    expect(result.code).to.equal(START_FAILED);
    expect(result.errors).to.deep.equal([`pipeline meeting: sink plugin#1: plugin "./sinks/notes.mjs" not found: no file at ${join(dir, 'sinks', 'notes.mjs')}`]);
  });

  it('stops the sinks that had started when a later one refuses to start', async () => {
    await writeFile(join(dir, 'journal.mjs'), `import { appendFileSync } from 'node:fs';
      export default (options) => ({
        async start() { appendFileSync(options.path, 'started\\n'); },
        write() {},
        async stop() { appendFileSync(options.path, 'stopped\\n'); },
      });`);
    await writeFile(join(dir, 'refuses.mjs'), `export default () => ({
      async start() { throw new Error('the chat room "standup" does not exist'); },
      write() {},
    });`);
    const journal = join(dir, 'journal.txt');
    const file = await pipelineFile([
      `      - { type: plugin, name: journal, module: ./journal.mjs, options: { path: "${journal}" } }`,
      '      - { type: plugin, name: chat, module: ./refuses.mjs }',
    ].join('\n'));
    const result = await run(file);
    expect(result.code).to.equal(START_FAILED);
    expect(result.errors).to.deep.equal(['pipeline meeting: sink chat cannot start: the chat room "standup" does not exist']);
    expect(await readFile(journal, 'utf8')).to.equal('started\nstopped\n');
  });
});
