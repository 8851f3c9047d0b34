import { execFile, spawn } from 'node:child_process';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { SinkConfigError } from '../../src/sinks/errors.js';
import { createWavRecorder, type WavRecorderContext } from '../../src/sinks/wav.js';
import { wavHeader } from '../../src/sinks/wav-header.js';
import { testContext, type TestContext } from './helpers.js';
import { firstMismatch, readWav, signal } from './wav-check.js';

const WRITER = fileURLToPath(new URL('./fixtures/wav-writer.js', import.meta.url));
const SPEECH = '/usr/share/pocketsphinx/test/data/goforward.raw';
const run = promisify(execFile);

async function soxi(flag: string, path: string): Promise<string> {
  return (await run('soxi', [flag, path])).stdout.trim();
}

describe('WAV recorder', function () {
  let ctx: TestContext;
  let wavContext: WavRecorderContext;
  beforeEach(async () => {
    ctx = await testContext('wav#1');
    wavContext = { pipeline: 'meeting', baseDir: ctx.dir, sampleRate: 16000, logger: ctx.logger, name: 'wav#1' };
  });
  afterEach(() => ctx.cleanup());

  it('records real speech sample for sample, with a header sox agrees with', async () => {
    const raw = await readFile(SPEECH);
    const speech = new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    const recorder = createWavRecorder({ path: 'rec/{pipeline}-{date}.wav' }, wavContext);
    await recorder.start();
    for (let at = 0; at < speech.length; at += 800) recorder.write(speech.subarray(at, at + 800));
    await recorder.close();
    const [path] = recorder.files;
    const wav = await readWav(path!);
    expect({ format: wav.format, channels: wav.channels, rate: wav.sampleRate, bits: wav.bitsPerSample, blockAlign: wav.blockAlign, byteRate: wav.byteRate })
      .to.deep.equal({ format: 1, channels: 1, rate: 16000, bits: 16, blockAlign: 2, byteRate: 32000 });
    expect(wav.dataSize).to.equal(raw.length);
    expect(wav.riffSize).to.equal(wav.fileSize - 8);
    expect(Buffer.from(wav.samples.buffer).equals(raw)).to.equal(true);
    expect(await soxi('-s', path!)).to.equal(String(speech.length));
    expect(await soxi('-r', path!)).to.equal('16000');
  });

  it('fills gaps with silence so file time stays pipeline time, fractions of a sample carried', async () => {
    const recorder = createWavRecorder({ path: 'gap.wav' }, wavContext);
    await recorder.start();
    recorder.write(signal(0, 1600));
    recorder.writeGap(120); // 1920 samples
    for (let i = 0; i < 3; i++) recorder.writeGap(0.09375); // 1.5 samples each: 4 in all, half a sample owed
    recorder.write(signal(1600 + 1924, 800));
    await recorder.close();
    const wav = await readWav(join(ctx.dir, 'gap.wav'));
    expect(wav.samples.length).to.equal(1600 + 1924 + 800);
    expect(firstMismatch(wav.samples.subarray(0, 1600))).to.equal(-1);
    expect(wav.samples.subarray(1600, 1600 + 1924).every((s) => s === 0)).to.equal(true);
    expect(firstMismatch(wav.samples.subarray(3524), 3524)).to.equal(-1);
    expect(recorder.stats).to.include({ gapSamples: 1924, samplesWritten: 4324, droppedSamples: 0 });
  });

  it('rotates at exact sample counts into files named by the template', async () => {
    const recorder = createWavRecorder({ path: 'rot/{pipeline}.wav', rotate_seconds: 1 }, { ...wavContext, sampleRate: 8000 });
    await recorder.start();
    for (let at = 0; at < 20000; at += 700) recorder.write(signal(at, Math.min(700, 20000 - at)));
    await recorder.close();
    expect(recorder.files.map((f) => f.slice(ctx.dir.length + 1))).to.deep.equal(['rot/meeting.wav', 'rot/meeting-1.wav', 'rot/meeting-2.wav']);
    let from = 0;
    for (const [i, file] of recorder.files.entries()) {
      const wav = await readWav(file);
      expect(wav.samples.length).to.equal([8000, 8000, 4000][i]);
      expect(wav.dataSize + 36).to.equal(wav.riffSize);
      expect(firstMismatch(wav.samples, from), `${file} continues the signal`).to.equal(-1);
      from += wav.samples.length;
      expect(await soxi('-s', file)).to.equal(String(wav.samples.length));
    }
  });

  it('write() returns at once; audio that finds the queue full becomes counted silence, keeping alignment', async () => {
    const recorder = createWavRecorder({ path: 'burst.wav' }, { ...wavContext, maxQueueSeconds: 0.2 });
    await recorder.start();
    for (let at = 0; at < 16000; at += 800) recorder.write(signal(at, 800)); // one second in one tick
    await recorder.close();
    const wav = await readWav(join(ctx.dir, 'burst.wav'));
    const { droppedSamples } = recorder.stats;
    expect(droppedSamples).to.be.greaterThan(0);
    expect(wav.samples.length, 'as long as the audio handed in').to.equal(16000);
    const kept = 16000 - droppedSamples;
    expect(firstMismatch(wav.samples.subarray(0, kept))).to.equal(-1);
    expect(wav.samples.subarray(kept).every((s) => s === 0)).to.equal(true);
    expect(ctx.logs.some((l) => l.level === 50 && l.msg.includes('cannot keep up'))).to.equal(true);
  });

  it('repairs the header of a recording left by an earlier run and records to a new file', async () => {
    await mkdir(join(ctx.dir, 'old'));
    const stalePath = join(ctx.dir, 'old/meeting.wav');
    const data = Buffer.from(signal(0, 1000).buffer);
    await writeFile(stalePath, Buffer.concat([wavHeader(16000, 0), data, Buffer.from([7])])); // header says empty; half a sample torn
    const recorder = createWavRecorder({ path: 'old/{pipeline}.wav' }, wavContext);
    await recorder.start();
    recorder.write(signal(0, 10));
    await recorder.close();
    const repaired = await readWav(stalePath);
    expect(repaired.dataSize).to.equal(2000);
    expect(repaired.bytesOnDisk).to.equal(2000);
    expect(firstMismatch(repaired.samples)).to.equal(-1);
    expect(recorder.files).to.deep.equal([join(ctx.dir, 'old/meeting-1.wav')]);
    expect(ctx.logs.some((l) => l.msg.includes('repaired the header'))).to.equal(true);
  });

  it('refuses a bad path template or sample rate with a message naming it', () => {
    expect(() => createWavRecorder({ path: '{session}.wav' }, wavContext)).to.throw(SinkConfigError, /wav#1: path: unknown placeholder \{session\}/);
    expect(() => createWavRecorder({ path: 'a.wav' }, { ...wavContext, sampleRate: 0 })).to.throw(SinkConfigError, /sample_rate/);
  });

  it('leaves a playable file after kill -9, its header kept current while recording, exact after repair', async () => {
    const { lines, child, exited } = startWriter(ctx.dir, 200);
    // The writer records five times faster than real time; let it run about a
    // second of wall time (five header intervals) before the kill.
    for await (const line of lines) if (Number(line) >= 16000) break;
    await new Promise((done) => setTimeout(done, 800));
    child.kill('SIGKILL');
    expect(await exited).to.equal('SIGKILL');
    const path = join(ctx.dir, 'crash/meeting.wav');
    const crashed = await readWav(path);
    expect(crashed.riffSize).to.equal(36 + crashed.dataSize);
    expect(crashed.dataSize % 2).to.equal(0);
    expect(crashed.dataSize, 'the header was brought up to date while recording').to.be.greaterThan(0);
    expect(crashed.dataSize).to.be.at.most(crashed.bytesOnDisk);
    expect(firstMismatch(crashed.samples), 'the samples the header covers are the ones written').to.equal(-1);
    expect(Number(await soxi('-s', path))).to.equal(crashed.dataSize / 2);

    const next = createWavRecorder({ path: 'crash/{pipeline}.wav' }, wavContext);
    await next.start();
    await next.close();
    const repaired = await readWav(path);
    expect(repaired.dataSize).to.equal(repaired.bytesOnDisk);
    expect(repaired.dataSize).to.equal(crashed.bytesOnDisk - (crashed.bytesOnDisk % 2));
    expect(firstMismatch(repaired.samples)).to.equal(-1);
  });

  it('has an exact header after SIGTERM closes it', async () => {
    const { lines, child } = startWriter(ctx.dir, 60_000);
    let closed = -1;
    for await (const line of lines) {
      if (line.startsWith('closed ')) {
        closed = Number(line.slice(7));
        break;
      }
      if (Number(line) >= 16000 && child.signalCode === null && !child.killed) child.kill('SIGTERM');
    }
    const wav = await readWav(join(ctx.dir, 'crash/meeting.wav'));
    expect(wav.samples.length).to.equal(closed);
    expect(wav.dataSize).to.equal(wav.bytesOnDisk);
    expect(firstMismatch(wav.samples)).to.equal(-1);
    expect((await readdir(join(ctx.dir, 'crash'))).sort()).to.deep.equal(['meeting.wav']);
  });
});

function startWriter(baseDir: string, headerIntervalMs: number) {
  const child = spawn(process.execPath, [WRITER, JSON.stringify({ baseDir, path: 'crash/{pipeline}.wav', sampleRate: 16000, headerIntervalMs })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
  return { child, exited, lines: createInterface({ input: child.stdout }) };
}
