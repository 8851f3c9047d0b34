import { readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { Spool } from '../../src/sinks/webhook/spool.js';
import { finalTurn, testContext, type TestContext } from './helpers.js';

describe('webhook spool', () => {
  let ctx: TestContext;
  const corrupt: string[] = [];
  const onCorrupt = (path: string) => void corrupt.push(path);
  beforeEach(async () => {
    ctx = await testContext('webhook#1');
    corrupt.length = 0;
  });
  afterEach(() => ctx.cleanup());

  it('finishes removing a batch that was delivered when the process died mid-removal', async () => {
    const dir = join(ctx.dir, 'spool');
    const spool = await Spool.open(dir, 1 << 20, onCorrupt);
    for (let seq = 0; seq < 4; seq++) await spool.append(`id${seq}`, finalTurn(`turn ${seq}`, seq * 1000, { seq }));
    await spool.writeSeal({ id: 'batch', first: 0, last: 2, sealed_at: new Date().toISOString() });
    await spool.close();
    // Delivered; the first event's file was removed, then the process died.
    await unlink(join(dir, 'e-0000000000000000.json'));
    await writeFile(join(dir, 'e-0000000000000004.json.tmp'), '{"id":"half writ');

    const reopened = await Spool.open(dir, 1 << 20, onCorrupt);
    expect(reopened.seal).to.equal(undefined);
    expect((await reopened.head(10)).map((e) => e.id)).to.deep.equal(['id3']);
    expect((await readdir(dir)).sort()).to.deep.equal(['e-0000000000000003.json', 'lock']);
    await reopened.append('id4', finalTurn('turn 4', 4000, { seq: 4 }));
    expect((await reopened.head(10)).map((e) => e.seq), 'the torn append never took seq 4').to.deep.equal([3, 4]);
    await reopened.close();
  });

  it('sets an unreadable entry aside instead of blocking the rest', async () => {
    const dir = join(ctx.dir, 'spool');
    const spool = await Spool.open(dir, 1 << 20, onCorrupt);
    for (let seq = 0; seq < 3; seq++) await spool.append(`id${seq}`, finalTurn(`turn ${seq}`, seq * 1000, { seq }));
    await writeFile(join(dir, 'e-0000000000000001.json'), 'not json');
    expect((await spool.head(3)).map((e) => e.id)).to.deep.equal(['id0', 'id2']);
    expect(corrupt).to.deep.equal([join(dir, 'e-0000000000000001.json')]);
    expect(await readdir(dir)).to.include('e-0000000000000001.json.corrupt');
    await spool.close();
  });
});
