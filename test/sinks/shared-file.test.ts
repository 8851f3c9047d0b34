/**
 * One file, several pipelines (`me` and `them` in one transcript): they share
 * one writer, so records never mix, rotation counts every byte, and a
 * pipeline that stops (or restarts on a reload) leaves the file open for the
 * others.
 */
import { expect } from 'chai';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileSinkConfig } from '../../src/config/schema.js';
import { SinkConfigError } from '../../src/sinks/errors.js';
import { SharedFileSinks } from '../../src/sinks/shared-file.js';
import type { Sink } from '../../src/sinks/sink.js';
import { finalTurn, SENTENCES, testContext, type TestContext } from './helpers.js';

const TEXT: FileSinkConfig = {
  type: 'file',
  path: 'out/meeting.txt',
  format: 'text',
  partials: false,
  timestamps: false,
  labels: true,
  queue_events: 100,
  queue_policy: 'drop_oldest',
};

describe('file sinks shared by pipelines', () => {
  let ctx: TestContext;
  let shared: SharedFileSinks;

  beforeEach(async () => {
    ctx = await testContext('transcript');
    shared = new SharedFileSinks();
  });
  afterEach(() => ctx.cleanup());

  const handle = (pipeline: string, config: FileSinkConfig = TEXT): Sink => shared.sinkFor(config, { ...ctx, pipeline, label: pipeline });
  const say = (pipeline: string, i: number) => finalTurn(`${pipeline} ${i}: ${SENTENCES[i % SENTENCES.length]}`, i * 1000, { pipeline, label: pipeline });

  it('writes both pipelines into one file, whole lines in the order each said them, rotating by the bytes of both', async () => {
    const rotating = { ...TEXT, rotate: { max_bytes: 2048 } };
    const me = handle('me', rotating);
    const them = handle('them', rotating);
    await Promise.all([me.start?.(), them.start?.()]);
    expect(shared.usersOf(rotating, { ...ctx, pipeline: 'me', label: 'me' })).to.equal(2);
    // Both pipelines deliver at once, as two sink actors on one event loop do.
    await Promise.all([0, 1].map(async (side) => {
      for (let i = 0; i < 60; i++) await (side === 0 ? me : them).write(say(side === 0 ? 'me' : 'them', i));
    }));
    await Promise.all([me.stop?.(), them.stop?.()]);

    const files = (await readdir(join(ctx.dir, 'out'))).sort((a, b) => a.length - b.length || a.localeCompare(b));
    expect(files.length).to.be.greaterThan(1);
    const lines: string[] = [];
    for (const file of files) {
      const path = join(ctx.dir, 'out', file);
      expect((await stat(path)).size, file).to.be.at.most(2048);
      const text = await readFile(path, 'utf8');
      expect(text.endsWith('\n'), file).to.equal(true);
      lines.push(...text.slice(0, -1).split('\n'));
    }
    for (const side of ['me', 'them']) {
      const said = lines.filter((line) => line.startsWith(`${side}: `));
      expect(said).to.deep.equal(Array.from({ length: 60 }, (_, i) => `${side}: ${side} ${i}: ${SENTENCES[i % SENTENCES.length]}`));
    }
    expect(lines).to.have.length(120);
  });

  it('keeps the file open while another pipeline writes: a restarted pipeline rejoins it', async () => {
    const me = handle('me');
    const them = handle('them');
    await me.start?.();
    await them.start?.();
    await me.write(say('me', 0));
    await me.stop?.();
    // The other side goes on, and `me` comes back as after a reload.
    await them.write(say('them', 1));
    const meAgain = handle('me');
    await meAgain.start?.();
    await meAgain.write(say('me', 2));
    await them.stop?.();
    await meAgain.stop?.();
    expect(shared.usersOf(TEXT, { ...ctx, pipeline: 'me', label: 'me' })).to.equal(0);

    expect(await readdir(join(ctx.dir, 'out'))).to.deep.equal(['meeting.txt']);
    const text = await readFile(join(ctx.dir, 'out/meeting.txt'), 'utf8');
    expect(text.split('\n').filter((l) => l !== '').map((l) => l.split(':')[0])).to.deep.equal(['me', 'them', 'me']);
    expect(ctx.logs.filter((r) => r.msg === 'transcript file opened')).to.have.length(1);
  });

  it('opens the file again after the last pipeline closed it', async () => {
    const me = handle('me');
    await me.start?.();
    await me.write(say('me', 0));
    await me.stop?.();
    const later = handle('them');
    await later.start?.();
    await later.write(say('them', 1));
    await later.stop?.();
    const text = await readFile(join(ctx.dir, 'out/meeting.txt'), 'utf8');
    expect(text.split('\n').filter((l) => l !== '')).to.have.length(2);
    expect(ctx.logs.filter((r) => r.msg === 'transcript file opened')).to.have.length(2);
  });

  it('refuses a pipeline that would write the same file with other settings', async () => {
    const me = handle('me');
    await me.start?.();
    const error = await handle('them', { ...TEXT, timestamps: true }).start?.().catch((e: unknown) => e);
    expect(error).to.be.instanceOf(SinkConfigError);
    expect((error as Error).message).to.match(/meeting\.txt is written by pipeline me with other settings/);
    await me.stop?.();
  });
});
