/** `earshot schema` prints the editor schema: the committed file, byte for byte. */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SCHEMA_FILE } from '../../src/config/json-schema.js';

const run = promisify(execFile);
const earshot = fileURLToPath(new URL('../../../bin/earshot.cjs', import.meta.url));
const committed = fileURLToPath(new URL(`../../../${SCHEMA_FILE}`, import.meta.url));

describe('earshot schema', () => {
  it('prints the JSON Schema of pipeline files on stdout and exits 0', async () => {
    const { stdout, stderr } = await run(process.execPath, [earshot, 'schema'], { timeout: 10000 });
    expect(stdout).to.equal(await readFile(committed, 'utf8'));
    expect(stderr).to.equal('');
    const schema = JSON.parse(stdout) as { title: string; properties: Record<string, unknown> };
    expect(schema.title).to.equal('earshot pipeline file');
    expect(Object.keys(schema.properties)).to.include.members(['version', 'service', 'pipelines']);
  });
});
