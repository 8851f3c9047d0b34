/** The JSON Schema for editors: committed, current, valid, and agreeing with the loader. */
import { expect } from 'chai';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { jsonSchema, renderJsonSchema, SCHEMA_FILE } from '../../src/config/json-schema.js';
import { fixtures } from './fixture-files.js';

const committed = fileURLToPath(new URL(`../../../${SCHEMA_FILE}`, import.meta.url));

function editorValidator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  return ajv.compile(jsonSchema());
}

/** What an editor sees: the YAML as written, references unexpanded. */
function asWritten(text: string): unknown {
  return parse(text, { merge: true });
}

describe('config: JSON Schema for editors', () => {
  it(`${SCHEMA_FILE} is up to date with src/config/schema.ts`, () => {
    const onDisk = readFileSync(committed, 'utf8');
    expect(onDisk === renderJsonSchema(), `${SCHEMA_FILE} is stale: run \`npx tsc -p . && node dist/src/config/write-json-schema.js\` and commit it`).to.equal(true);
  });

  it('accepts every valid example as written, ${VAR} references included', () => {
    const validate = editorValidator();
    for (const fixture of fixtures('valid')) {
      const ok = validate(asWritten(fixture.text));
      expect(ok, `${fixture.name}: ${JSON.stringify(validate.errors)}`).to.equal(true);
    }
  });

  it('offers the v3 connection parameters and flags mistakes as the loader does', () => {
    const validate = editorValidator();
    const base = { version: 1, pipelines: { p: { source: { type: 'synthetic' }, transcriber: { type: 'assemblyai', params: {} }, sinks: [{ type: 'console' }] } } };
    const withParams = (params: object) => ({ ...base, pipelines: { p: { ...base.pipelines.p, transcriber: { type: 'assemblyai', params } } } });
    expect(validate(withParams({ format_turns: true, keyterms_prompt: ['a'], vad_threshold: '${VAD}' }))).to.equal(true);
    expect(validate(withParams({ format_turn: true }))).to.equal(false);
    expect(validate(withParams({ sample_rate: 16000 }))).to.equal(false);
    expect(validate(withParams({ vad_threshold: 2 }))).to.equal(false);
    expect(validate({ ...base, pipelines: { p: { ...base.pipelines.p, sinkz: [] } } })).to.equal(false);
    expect(validate({ ...base, service: { http: { port: 'nine' } } })).to.equal(false);
    expect(validate({ ...base, service: { http: { port: '${PORT}' } } })).to.equal(true);
  });
});
