import { spawn } from 'node:child_process';
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import SrtParser from 'srt-parser-2';
import webvtt from 'webvtt-parser';
import type { FileSinkConfig } from '../../src/config/schema.js';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import { SinkConfigError } from '../../src/sinks/errors.js';
import { createFileSink } from '../../src/sinks/file.js';
import { finalTurn, partialTurn, SENTENCES, testContext, type TestContext } from './helpers.js';

const WRITER = fileURLToPath(new URL('./fixtures/file-sink-writer.js', import.meta.url));

function turns(count: number, from = 0): TranscriptEvent[] {
  const out: TranscriptEvent[] = [];
  let at = from;
  for (let i = 0; i < count; i++) {
    const turn = finalTurn(SENTENCES[i % SENTENCES.length]!, at, { seq: i });
    out.push(turn);
    at = turn.end_ms + 700;
  }
  return out;
}

async function lines(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  expect(text.endsWith('\n'), `${path} ends with a complete line`).to.equal(true);
  return text.slice(0, -1).split('\n');
}

/** A clock the test moves. */
function clock(start = new Date(2026, 10, 25, 9, 30, 5)) {
  let now = start.getTime();
  return { now: () => new Date(now), advance: (ms: number) => void (now += ms) };
}

describe('file sink', function () {
  let ctx: TestContext;
  beforeEach(async () => {
    ctx = await testContext('file#1', { label: 'them' });
  });
  afterEach(() => ctx.cleanup());

  it('writes each final turn to the file before write() resolves, partials only when asked', async () => {
    const sink = createFileSink({ path: 'out/{pipeline}.jsonl', format: 'jsonl' }, ctx);
    await sink.start();
    const path = join(ctx.dir, 'out/meeting.jsonl');
    const all = turns(3);
    await sink.write(partialTurn('Go for', 0));
    for (const [i, turn] of all.entries()) {
      await sink.write(turn);
      expect(await lines(path), 'on disk once write() resolved').to.have.length(i + 1);
    }
    await sink.flush();
    await sink.stop();
    const written = (await lines(path)).map((l) => JSON.parse(l) as TranscriptEvent);
    expect(written).to.deep.equal(all);

    const withPartials = createFileSink({ path: 'out/partials.jsonl', format: 'jsonl', partials: true }, ctx);
    await withPartials.start();
    await withPartials.write(partialTurn('Go for', 0));
    await withPartials.write(all[0]!);
    await withPartials.stop();
    expect((await lines(join(ctx.dir, 'out/partials.jsonl'))).map((l) => (JSON.parse(l) as TranscriptEvent).final)).to.deep.equal([false, true]);
  });

  it('refuses options it cannot honour, naming the field', () => {
    expect(() => createFileSink({ path: 'x.srt', format: 'srt', partials: true }, ctx)).to.throw(SinkConfigError, /file#1: partials: .*jsonl/);
    expect(() => createFileSink({ path: 'x-{day}.txt', format: 'text' }, ctx)).to.throw(SinkConfigError, /path: unknown placeholder \{day\}.*\{pipeline\}, \{label\}, \{date\}, \{time\}, \{session\}/);
    expect(() => createFileSink({ path: 'x.txt', format: 'docx' as FileSinkConfig['format'] }, ctx)).to.throw(SinkConfigError, /file#1: format/);
    expect(() => createFileSink({ path: 'x.txt', rotate: { max_bytes: 10 } }, ctx)).to.throw(SinkConfigError, /rotate\.max_bytes/);
  });

  it('fills the path template and creates the directories', async () => {
    const { now } = clock();
    const sink = createFileSink({ path: 'transcripts/{label}/{pipeline}-{date}-{time}.txt', format: 'text', timestamps: true }, ctx, { now });
    await sink.start();
    await sink.write(turns(1)[0]!);
    await sink.stop();
    const path = join(ctx.dir, 'transcripts/them/meeting-2026-11-25-093005.txt');
    expect(sink.files).to.deep.equal([path]);
    expect(await readFile(path, 'utf8')).to.equal('[00:00:00.000] them: Go forward ten meters.\n');
  });

  it('starts a file per transcriber session with {session}', async () => {
    const sink = createFileSink({ path: 'by-session/{session}.jsonl', format: 'jsonl' }, ctx);
    await sink.start();
    expect(sink.files, 'no file before the first session is known').to.deep.equal([]);
    const [a, b, c] = turns(3);
    await sink.write({ ...a!, session_id: 'one' });
    await sink.write({ ...b!, session_id: 'one' });
    await sink.write({ ...c!, session_id: 'two/../x' });
    await sink.stop();
    expect(sink.files.map((f) => f.slice(ctx.dir.length + 1))).to.deep.equal(['by-session/one.jsonl', 'by-session/two_.._x.jsonl']);
    expect(await lines(sink.files[0]!)).to.have.length(2);
  });

  it('rotates by size into new files named by the template; every record whole, none lost', async () => {
    const all = turns(40);
    const sink = createFileSink({ path: 'rot/{pipeline}.jsonl', format: 'jsonl', rotate: { max_bytes: 2048 } }, ctx);
    await sink.start();
    for (const turn of all) await sink.write(turn);
    await sink.stop();
    expect(sink.files.length).to.be.greaterThan(3);
    expect(sink.files.slice(0, 3).map((f) => f.slice(ctx.dir.length + 1))).to.deep.equal(['rot/meeting.jsonl', 'rot/meeting-1.jsonl', 'rot/meeting-2.jsonl']);
    const back: TranscriptEvent[] = [];
    for (const file of sink.files) {
      expect((await stat(file)).size).to.be.at.most(2048);
      back.push(...(await lines(file)).map((l) => JSON.parse(l) as TranscriptEvent));
    }
    expect(back).to.deep.equal(all);
  });

  it('rotates subtitles by size: SRT numbering restarts, each VTT file has its header, all parse', async () => {
    const all = turns(30);
    for (const format of ['srt', 'vtt'] as const) {
      const sink = createFileSink({ path: `subs/talk.${format}`, format, rotate: { max_bytes: 1024 } }, ctx);
      await sink.start();
      for (const turn of all) await sink.write(turn);
      await sink.stop();
      expect(sink.files.length).to.be.greaterThan(2);
      let text = '';
      for (const file of sink.files) {
        const content = await readFile(file, 'utf8');
        expect(Buffer.byteLength(content)).to.be.at.most(1024);
        if (format === 'srt') {
          const cues = new SrtParser().fromSrt(content);
          expect(cues[0]!.id, `${file} starts at cue 1`).to.equal('1');
          text += ' ' + cues.map((c) => c.text).join(' ');
        } else {
          expect(content.startsWith('WEBVTT\n\n')).to.equal(true);
          const parsed = new webvtt.WebVTTParser().parse(content, 'subtitles');
          expect(parsed.errors).to.deep.equal([]);
          text += ' ' + parsed.cues.map((c) => c.text).join(' ');
        }
      }
      const expected = all.map((t) =>
        format === 'srt' ? t.text.replace('-->', '->') : t.text.replace('&', '&amp;').replace('<ready>', '&lt;ready&gt;').replace('-->', '--&gt;'),
      );
      expect(text.split(/\s+/).filter(Boolean)).to.deep.equal(expected.join(' ').split(/\s+/));
    }
  });

  it('rotates by time on the first record after max_seconds', async () => {
    const { now, advance } = clock();
    const sink = createFileSink({ path: 'timed/{time}.txt', format: 'text', rotate: { max_seconds: 60 } }, ctx, { now });
    await sink.start();
    const [a, b, c] = turns(3);
    await sink.write(a!);
    advance(59_000);
    await sink.write(b!);
    advance(2_000);
    await sink.write(c!);
    await sink.stop();
    expect(sink.files.map((f) => f.slice(ctx.dir.length + 1))).to.deep.equal(['timed/093005.txt', 'timed/093106.txt']);
    expect(await lines(sink.files[0]!)).to.have.length(2);
  });

  it('appends text and jsonl to the newest file after a restart; subtitles start a new file', async () => {
    const [a, b] = turns(2);
    for (const round of [a!, b!]) {
      for (const format of ['jsonl', 'srt'] as const) {
        const sink = createFileSink({ path: `day/log.${format}`, format }, ctx);
        await sink.start();
        await sink.write(round);
        await sink.stop();
      }
    }
    expect((await readdir(join(ctx.dir, 'day'))).sort()).to.deep.equal(['log-1.srt', 'log.jsonl', 'log.srt']);
    expect(await lines(join(ctx.dir, 'day/log.jsonl'))).to.have.length(2);
    expect(new SrtParser().fromSrt(await readFile(join(ctx.dir, 'day/log-1.srt'), 'utf8'))[0]!.id).to.equal('1');
  });

  it('cuts a torn record off the end of a file from a crashed run before writing again', async () => {
    await mkdir(join(ctx.dir, 'torn'));
    const [a, b, c] = turns(3);
    const jsonl = join(ctx.dir, 'torn/t.jsonl');
    await writeFile(jsonl, JSON.stringify(a) + '\n' + JSON.stringify(b).slice(0, 57));
    const srt = join(ctx.dir, 'torn/t.srt');
    await writeFile(srt, '1\n00:00:01,000 --> 00:00:02,000\nwhole cue\n\n2\n00:00:03,000 --> 00:00:0');
    const vtt = join(ctx.dir, 'torn/t.vtt');
    await writeFile(vtt, 'WEBV');
    for (const format of ['jsonl', 'srt', 'vtt'] as const) {
      const sink = createFileSink({ path: `torn/t.${format}`, format }, ctx);
      await sink.start();
      await sink.write(c!);
      await sink.stop();
    }
    expect((await lines(jsonl)).map((l) => (JSON.parse(l) as TranscriptEvent).seq)).to.deep.equal([a!.seq, c!.seq]);
    expect(await readFile(srt, 'utf8')).to.equal('1\n00:00:01,000 --> 00:00:02,000\nwhole cue\n\n');
    expect(await readFile(vtt, 'utf8')).to.equal('WEBVTT\n\n');
    const warnings = ctx.logs.filter((l) => l.msg.includes('incomplete record'));
    expect(warnings.map((w) => w.path)).to.deep.equal([jsonl, srt, vtt]);
  });

  for (const [format, textBytes] of [['jsonl', 16 * 1024 * 1024], ['srt', 1024 * 1024]] as const) {
    it(`leaves only whole ${format} records after kill -9 mid-stream, and keeps every acknowledged turn`, async function () {
      this.timeout(30000);
      const path = `crash/out.${format}`;
      const file = join(ctx.dir, path);
      const child = spawn(process.execPath, [WRITER, JSON.stringify({ baseDir: ctx.dir, path, format, textBytes })], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
      let acked = -1;
      let ackedSize = 0;
      createInterface({ input: child.stdout }).on('line', (line) => {
        [acked, ackedSize] = line.split(' ').map(Number) as [number, number];
      });
      // Kill while a record is being copied into the file (the size is part way
      // into the next record), so the kernel cuts the write short; give up
      // waiting for that moment after a dozen records.
      while (acked < 12) {
        const size = await stat(file).then((s) => s.size, () => 0);
        if (acked >= 2 && size > ackedSize && size < ackedSize + textBytes / 2) break;
      }
      child.kill('SIGKILL');
      expect(await exited).to.equal('SIGKILL');

      const sink = createFileSink({ path, format }, ctx);
      await sink.start();
      await sink.stop();
      const text = await readFile(file, 'utf8');
      let seqs: number[];
      if (format === 'jsonl') {
        seqs = (await lines(file)).map((l) => (JSON.parse(l) as TranscriptEvent).seq);
      } else {
        const cues = new SrtParser().fromSrt(text);
        expect(text.endsWith('\n\n')).to.equal(true);
        expect(cues.map((c) => c.id)).to.deep.equal(cues.map((_c, i) => String(i + 1)));
        seqs = [...text.matchAll(/^turn (\d+)/gm)].map((m) => Number(m[1]));
      }
      // Every acknowledged turn is there; at most the one in flight follows it.
      expect(seqs.slice(0, acked + 1)).to.deep.equal([...Array(acked + 1).keys()]);
      expect(seqs.length).to.be.within(acked + 1, acked + 2);
    });
  }

  it('rejects a write the disk refuses, naming the file and the reason', async () => {
    const sink = createFileSink({ path: '/dev/full', format: 'jsonl' }, ctx);
    await sink.start();
    try {
      await sink.write(turns(1)[0]!);
      expect.fail('a full disk must reject the write');
    } catch (err) {
      expect((err as Error).message).to.match(/^file#1: cannot write the transcript file: ENOSPC.*\(\/dev\/full\)$/);
    }
    await sink.stop().catch(() => undefined);
  });

  it('names the file when it cannot write', async () => {
    await writeFile(join(ctx.dir, 'blocker'), 'a file where a directory should be');
    const sink = createFileSink({ path: 'blocker/out.txt', format: 'text' }, ctx);
    try {
      await sink.start();
      expect.fail('start should fail');
    } catch (err) {
      expect((err as Error).message).to.match(/file#1: cannot create the directory .*\(.*blocker\)/);
    }
  });
});
