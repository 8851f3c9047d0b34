/**
 * Loading `type: plugin` sinks from real files and real package folders:
 * every way a plugin may be written, and every way it can be wrong, with the
 * message a user sees.
 */
import { expect } from 'chai';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PluginSinkConfig } from '../../src/config/schema.js';
import { createPluginSink, PluginLoadError, PluginTimeoutError, type PluginProblem } from '../../src/sinks/plugin.js';
import type { Sink } from '../../src/sinks/sink.js';
import { sinkContext, transcriptEvent } from '../support/sink-events.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** A plugin body whose sink appends what it is given to options.out, tagged. */
function recordingPlugin(tag: string): string {
  return `{
    create(options, context) {
      return {
        async write(event) {
          const { appendFile } = await import('node:fs/promises');
          await appendFile(options.out, JSON.stringify({ tag: ${JSON.stringify(tag)}, text: event.text, options, pipeline: context.pipeline, name: context.name }) + '\\n');
        },
      };
    },
  }`;
}

function pluginConfig(module: string, options: Record<string, unknown> = {}): PluginSinkConfig {
  return { type: 'plugin', module, options, queue_events: 100, queue_policy: 'drop_oldest' };
}

describe('plugin sinks: loading', function () {
  this.timeout(20000);
  let dir: string;
  let out: string;

  async function file(path: string, text: string): Promise<string> {
    const full = join(dir, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, text);
    return full;
  }

  async function load(module: string, options: Record<string, unknown> = {}, baseDir = dir): Promise<Sink> {
    return createPluginSink(pluginConfig(module, options), sinkContext(baseDir));
  }

  async function loadError(module: string, options: Record<string, unknown> = {}, baseDir = dir): Promise<PluginLoadError> {
    try {
      await load(module, options, baseDir);
    } catch (error) {
      expect(error).to.be.instanceOf(PluginLoadError);
      const failure = error as PluginLoadError;
      expect(failure.site).to.deep.equal({ module, pipeline: 'meeting', sink: 'notes' });
      expect(failure.message).to.match(new RegExp(`^pipeline meeting: sink notes: plugin "${module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" `));
      return failure;
    }
    throw new Error(`expected ${module} to fail to load`);
  }

  async function expectProblem(module: string, problem: PluginProblem, ...fragments: string[]): Promise<PluginLoadError> {
    const error = await loadError(module);
    expect(error.problem).to.equal(problem);
    for (const fragment of fragments) expect(error.message).to.contain(fragment);
    return error;
  }

  async function written(): Promise<Record<string, unknown>[]> {
    return (await readFile(out, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-plugins-'));
    out = join(dir, 'out.jsonl');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('finding and calling the plugin', () => {
    it('loads a module by a path relative to the pipeline file, passing checked options and the sink context', async () => {
      await file('sinks/notes.mjs', `export default {
        optionsSchema: { type: 'object', properties: { out: { type: 'string' }, heading: { type: 'string', default: 'Notes' } } },
        create: ${recordingPlugin('relative')}.create,
      };`);
      const sink = await load('./sinks/notes.mjs', { out });
      await sink.write(transcriptEvent(0, { text: 'Hello there.' }));
      expect(await written()).to.deep.equal([
        { tag: 'relative', text: 'Hello there.', options: { out, heading: 'Notes' }, pipeline: 'meeting', name: 'notes' },
      ]);
    });

    it('accepts a bare factory function, a named `sink` export, a CommonJS module and an absolute path', async () => {
      await file('factory.mjs', `export default ${recordingPlugin('factory')}.create;`);
      await file('named.mjs', `export const sink = ${recordingPlugin('named')};`);
      await file('common.cjs', `module.exports = ${recordingPlugin('commonjs')};`);
      const absolute = await file('elsewhere/absolute.mjs', `export default ${recordingPlugin('absolute')};`);
      for (const module of ['./factory.mjs', './named.mjs', './common.cjs', absolute]) {
        await (await load(module, { out })).write(transcriptEvent(0));
      }
      expect((await written()).map((line) => line.tag)).to.deep.equal(['factory', 'named', 'commonjs', 'absolute']);
    });

    it('loads a package by name from node_modules beside the pipeline file, by its `exports` import condition', async () => {
      await file('node_modules/earshot-sink-demo/package.json', JSON.stringify({
        name: 'earshot-sink-demo',
        type: 'module',
        exports: { '.': { import: './esm.js', require: './cjs.cjs' } },
      }));
      await file('node_modules/earshot-sink-demo/esm.js', `export default ${recordingPlugin('package esm entry')};`);
      await file('node_modules/earshot-sink-demo/cjs.cjs', `module.exports = ${recordingPlugin('package require entry')};`);
      await (await load('earshot-sink-demo', { out })).write(transcriptEvent(0));
      expect((await written())[0]?.tag).to.equal('package esm entry');
    });

    it('finds a scoped package in a parent folder\'s node_modules, by its `main`', async () => {
      await file('node_modules/@acme/earshot-sink/package.json', JSON.stringify({ name: '@acme/earshot-sink', main: 'lib/index.js' }));
      await file('node_modules/@acme/earshot-sink/lib/index.js', `module.exports = ${recordingPlugin('scoped')};`);
      const pipelineDir = join(dir, 'projects', 'standup');
      await mkdir(pipelineDir, { recursive: true });
      await (await load('@acme/earshot-sink', { out }, pipelineDir)).write(transcriptEvent(0));
      expect((await written())[0]?.tag).to.equal('scoped');
    });

    it('falls back to the packages installed with earshot itself', async () => {
      // fastest-levenshtein is one of earshot's own dependencies and is nowhere under the temp folder.
      const error = await expectProblem('fastest-levenshtein', 'bad_export', join(repoRoot, 'node_modules', 'fastest-levenshtein'), 'closest (a function)');
      expect(error.message).to.contain('does not export a sink plugin');
    });

    it('retries a write that throws its own error named RetryableSinkError, honouring retryAfterMs', async () => {
      await file('flaky.mjs', `
        class RetryableSinkError extends Error {
          constructor(message, retryAfterMs) { super(message); this.name = 'RetryableSinkError'; this.retryAfterMs = retryAfterMs; }
        }
        let calls = 0;
        export default (options) => ({
          async write(event) {
            if (++calls === 1) throw new RetryableSinkError('busy, try later', 50);
            const { appendFile } = await import('node:fs/promises');
            await appendFile(options.out, JSON.stringify({ tag: 'flaky', text: event.text, calls }) + '\\n');
          },
        });`);
      const { SinkActor } = await import('../../src/sinks/sink-actor.js');
      const actor = new SinkActor('flaky', await load('./flaky.mjs', { out }), 10, 'drop_oldest', sinkContext(dir).logger);
      await actor.start();
      actor.tell(transcriptEvent(0, { text: 'Once.' }));
      await actor.drain();
      expect(actor.counters).to.deep.equal({ written: 1, errors: 1, dropped: 0 });
      expect(await written()).to.deep.equal([{ tag: 'flaky', text: 'Once.', calls: 2 }]);
    });
  });

  describe('when the module cannot be found or loaded', () => {
    it('says which file it looked for, and suggests the extension ES modules need', async () => {
      await expectProblem('./missing.mjs', 'not_found', `not found: no file at ${join(dir, 'missing.mjs')}`);
      await file('notes.mjs', 'export default () => ({ write() {} });');
      await expectProblem('./notes', 'not_found', `no file at ${join(dir, 'notes')}`, 'did you mean ./notes.mjs?');
      await file('folder/index.js', 'export default () => ({ write() {} });');
      await expectProblem('./folder', 'not_found', `is a directory (${join(dir, 'folder')})`, 'did you mean ./folder/index.js?');
    });

    it('lists the node_modules folders it searched for a package, beside the pipeline file and in earshot', async () => {
      const error = await expectProblem('earshot-sink-nowhere', 'not_found', 'no package "earshot-sink-nowhere" in ', join(dir, 'node_modules'), 'npm install earshot-sink-nowhere');
      expect(error.message).to.contain(`nor in earshot's own ${join(repoRoot, 'node_modules')}`);
    });

    it('tells a bare file name from a package name', async () => {
      await file('notes.mjs', 'export default () => ({ write() {} });');
      await expectProblem('notes.mjs', 'not_found', 'no package "notes.mjs"', `a file ${join(dir, 'notes.mjs')} exists: a path must start with ./`);
    });

    it('quotes why a package that is there cannot be resolved', async () => {
      await file('node_modules/broken-sink/package.json', JSON.stringify({ name: 'broken-sink', exports: { './other': './other.js' } }));
      await expectProblem('broken-sink', 'not_found', 'cannot be resolved:', 'No "exports" main defined');
    });

    it('quotes a syntax error with its file, line and code', async () => {
      const path = await file('typo.mjs', 'export default {\n  create() {\n    return oops oops;\n  },\n};\n');
      await expectProblem('./typo.mjs', 'import_failed', `failed to load (${path}): SyntaxError: Unexpected identifier 'oops'`, `at ${path}:3\n`, 'return oops oops;\n', '^^^^');
    });

    it('quotes what a module threw while being imported, and a dependency it lacks', async () => {
      await file('throws.mjs', 'throw new Error("CHAT_TOKEN is not set");\nexport default {};\n');
      await expectProblem('./throws.mjs', 'import_failed', 'failed to load', 'Error: CHAT_TOKEN is not set');
      await file('needs.mjs', 'import "left-pad-nowhere";\nexport default () => ({ write() {} });\n');
      await expectProblem('./needs.mjs', 'import_failed', "Cannot find package 'left-pad-nowhere'");
    });
  });

  describe('when the module exports the wrong thing', () => {
    const cases: [string, string, string[]][] = [
      ['number.mjs', 'export default 42;', ['it exports default (42).', 'Expected: a SinkPlugin object { create(options, context), optionsSchema? } or a factory function']],
      ['empty.mjs', 'export {};', ['it exports nothing.']],
      ['class.mjs', 'export default class NotesSink { write() {} }', ['default (class NotesSink)', 'export { create: (options, context) => new NotesSink(options, context) }']],
      ['bare-sink.mjs', 'export default { write() {} };', ['default (an object with keys write)', 'It looks like a Sink itself; export { create: () => sink } instead.']],
      ['create-string.mjs', 'export const sink = { create: "notes" };', ['sink (an object whose create is "notes")']],
      ['helpers.mjs', 'export const format = () => "";\nexport const version = 2;', ['it exports format (a function), version (2).']],
    ];
    for (const [name, source, fragments] of cases) {
      it(`${name}: says what it exports and what is expected`, async () => {
        const path = await file(name, source);
        await expectProblem(`./${name}`, 'bad_export', `(${path}) does not export a sink plugin`, ...fragments);
      });
    }

    it('says when the optionsSchema itself is broken (the plugin\'s fault, not the options\')', async () => {
      await file('schema-string.mjs', 'export default { optionsSchema: "object", create: () => ({ write() {} }) };');
      await expectProblem('./schema-string.mjs', 'bad_schema', 'is broken: its optionsSchema is "object"; expected a JSON Schema object');
      await file('schema-bad.mjs', 'export default { optionsSchema: { type: "strnig" }, create: () => ({ write() {} }) };');
      await expectProblem('./schema-bad.mjs', 'bad_schema', 'is broken: its optionsSchema is not a valid JSON Schema: ', 'data/type must be equal to one of the allowed values');
    });
  });

  describe('when create() fails', () => {
    it('quotes what create() threw', async () => {
      await file('refuses.mjs', 'export default () => { throw new TypeError("options.room must name a chat room"); };');
      await expectProblem('./refuses.mjs', 'create_failed', 'failed to create its sink: create() threw TypeError: options.room must name a chat room');
      await file('rejects.mjs', 'export default async () => { throw new Error("cannot reach chat.example"); };');
      await expectProblem('./rejects.mjs', 'create_failed', 'create() threw Error: cannot reach chat.example');
    });

    it('says what create() returned when it is not a sink', async () => {
      const returns: [string, string][] = [
        ['undefined', 'create() returned undefined;'],
        ['{ send() {} }', 'create() returned an object with keys send;'],
        ['{ write: "yes" }', 'create() returned an object with keys write;'],
        ['{ write() {}, stop: true }', 'create() returned a sink whose stop is true;'],
      ];
      for (const [index, [value, fragment]] of returns.entries()) {
        await file(`returns-${index}.mjs`, `export default () => (${value});`);
        await expectProblem(`./returns-${index}.mjs`, 'bad_sink', fragment, 'expected a Sink: an object with a write(event) method');
      }
    });

    it('bounds import, create() and start() in time', async () => {
      const timeouts = { import: 100, create: 100, start: 100, flush: 100, stop: 100 };
      await file('awaits.mjs', 'await new Promise(() => {});\nexport default () => ({ write() {} });');
      const importError = await createPluginSink(pluginConfig('./awaits.mjs'), sinkContext(dir), timeouts).catch((e: unknown) => e);
      expect(importError).to.be.instanceOf(PluginLoadError);
      expect((importError as PluginLoadError).message).to.contain(`failed to load (${join(dir, 'awaits.mjs')}): PluginTimeoutError: import did not settle within 100 ms`);
      await file('hangs.mjs', 'export default () => new Promise(() => {});');
      const error = await createPluginSink(pluginConfig('./hangs.mjs'), sinkContext(dir), timeouts).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(PluginLoadError);
      expect((error as PluginLoadError).message).to.contain('failed to create its sink: create() did not settle within 100 ms');
      await file('slow-start.mjs', 'export default () => ({ start: () => new Promise(() => {}), write() {} });');
      const sink = await createPluginSink(pluginConfig('./slow-start.mjs'), sinkContext(dir), timeouts);
      const startError = await sink.start!().catch((e: unknown) => e);
      expect(startError).to.be.instanceOf(PluginTimeoutError);
      expect((startError as Error).message).to.equal('pipeline meeting: sink notes: plugin "./slow-start.mjs": start() did not settle within 100 ms');
    });
  });

  describe('options', () => {
    const schema = {
      type: 'object',
      additionalProperties: false,
      required: ['path'],
      properties: {
        path: { type: 'string', description: 'Markdown file to append to' },
        time: { enum: ['wall', 'audio'], default: 'wall' },
        speakers: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
        retries: { type: 'integer', minimum: 0, default: 3 },
        token: { type: 'string', 'x-secret': true },
        mention: { type: 'array', items: { type: 'string', format: 'email' } },
      },
    };

    beforeEach(async () => {
      await file('checked.mjs', `export default { optionsSchema: ${JSON.stringify(schema)}, create: ${recordingPlugin('checked')}.create };`);
    });

    it('reports every invalid option at once, each with its path and what would be valid, never echoing a secret', async () => {
      const error = await loadError('./checked.mjs', {
        time: 'utc',
        speakers: { A: 'Alice', B: 7 },
        retries: -1,
        tokn: 'x',
        token: 12345678,
        mention: ['alice@example.com', 'bob'],
      });
      expect(error.problem).to.equal('invalid_options');
      expect(error.problems).to.have.members([
        'options.path: required option is missing (string): Markdown file to append to',
        'options.time: must be one of "wall", "audio" (got "utc")',
        'options.speakers.B: must be string (got 7)',
        'options.retries: must be >= 0 (got -1)',
        'options.tokn: unknown option; did you mean token? Valid options here: path, time, speakers, retries, token, mention.',
        'options.token: must be string',
        'options.mention[1]: must match format "email" (got "bob")',
      ]);
      expect(error.message).to.contain('has invalid options:\n  options.');
      expect(error.message).not.to.contain('12345678');
    });

    it('fills in the schema\'s defaults and leaves the pipeline\'s own options untouched', async () => {
      const options = { path: 'notes.md', out, speakers: { A: 'Alice' } };
      await file('loose.mjs', `export default { optionsSchema: ${JSON.stringify({ ...schema, additionalProperties: true })}, create: ${recordingPlugin('defaults')}.create };`);
      await (await load('./loose.mjs', options)).write(transcriptEvent(0));
      expect((await written())[0]?.options).to.deep.equal({ path: 'notes.md', out, speakers: { A: 'Alice' }, time: 'wall', retries: 3 });
      expect(options).to.deep.equal({ path: 'notes.md', out, speakers: { A: 'Alice' } });
    });

    it('understands a 2020-12 schema', async () => {
      const modern = { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }] } } };
      await file('modern.mjs', `export default { optionsSchema: ${JSON.stringify(modern)}, create: ${recordingPlugin('modern')}.create };`);
      const error = await loadError('./modern.mjs', { pair: ['a', 'b'] });
      expect(error.problems).to.deep.equal(['options.pair[1]: must be number (got "b")']);
      await (await load('./modern.mjs', { pair: ['a', 1], out })).write(transcriptEvent(0));
      expect((await written())[0]?.tag).to.equal('modern');
    });
  });
});
