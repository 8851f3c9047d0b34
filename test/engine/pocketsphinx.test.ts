import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_MODEL_DIR,
  PocketsphinxError,
  PocketsphinxRecognizer,
  type PocketsphinxOptions,
  type Utterance,
} from '../../src/engine/pocketsphinx.js';
import { decodeFileDirect } from '../support/pocketsphinx-direct.js';
import { librivoxClips, readPcm, type LibrivoxClip } from '../support/librivox.js';
import { concatPcm, silence } from '../support/pcm.js';
import { speechSpan } from '../support/speech-span.js';
import { pooledWordErrorRate, wordErrorRate, type WerResult } from '../support/wer.js';

const M = DEFAULT_MODEL_DIR;

/** Stream samples through the recognizer in chunks; resolves with every utterance. */
async function decodeStream(samples: Int16Array, chunkMs = 50, options: PocketsphinxOptions = {}): Promise<Utterance[]> {
  const recognizer = new PocketsphinxRecognizer(options);
  const utterances: Utterance[] = [];
  recognizer.onUtterance((u) => utterances.push(u));
  await recognizer.start();
  const chunk = 16 * chunkMs;
  for (let i = 0; i < samples.length; i += chunk) recognizer.write(samples.subarray(i, i + chunk));
  await recognizer.end();
  return utterances;
}

/** Run fn over items, two at a time (the machine has two cores). */
async function inPairs<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += 2) results.push(...(await Promise.all(items.slice(i, i + 2).map(fn))));
  return results;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function startFailure(recognizer: PocketsphinxRecognizer): Promise<PocketsphinxError> {
  try {
    await recognizer.start();
  } catch (error) {
    expect(error).to.be.instanceOf(PocketsphinxError);
    return error as PocketsphinxError;
  } finally {
    recognizer.close();
  }
  return expect.fail('start() resolved');
}

function nextError(recognizer: PocketsphinxRecognizer): Promise<PocketsphinxError> {
  return new Promise((resolve) => recognizer.onError(resolve));
}

function table(rows: { id: string; direct: WerResult; streamed: WerResult }[]): string {
  const pct = (r: WerResult): string => `${(r.wer * 100).toFixed(1)}% (S${r.substitutions} D${r.deletions} I${r.insertions} / N${r.reference_words})`;
  return rows.map((r) => `      ${r.id.padEnd(42)} direct ${pct(r.direct).padEnd(28)} streamed ${pct(r.streamed)}`).join('\n');
}

describe('PocketsphinxRecognizer', function () {
  this.timeout(60_000);

  describe('accuracy on the LibriVox clips', () => {
    let clips: LibrivoxClip[];
    let direct: WerResult[];
    let streamed: WerResult[];

    before(async () => {
      clips = librivoxClips();
      direct = await inPairs(clips, async (clip) => wordErrorRate(clip.reference, await decodeFileDirect(clip.wavPath)));
      streamed = await inPairs(clips, async (clip) => {
        const utterances = await decodeStream(await readPcm(clip.wavPath), 50);
        return wordErrorRate(clip.reference, utterances.map((u) => u.text).join(' '));
      });
      const rows = clips.map((clip, i) => ({ id: clip.id, direct: direct[i]!, streamed: streamed[i]! }));
      console.log(`${table(rows)}\n      pooled: direct ${pooledWordErrorRate(direct).wer.toFixed(3)}, streamed ${pooledWordErrorRate(streamed).wer.toFixed(3)}`);
    });

    it('decodes each clip directly with a pooled WER well under one half', () => {
      for (const result of direct) expect(result.hits).to.be.greaterThan(result.reference_words / 3);
      expect(pooledWordErrorRate(direct).wer).to.be.below(0.5);
    });

    it('gives the same WER, within 0.01, when the clips are streamed in 50 ms chunks', () => {
      clips.forEach((clip, i) => {
        expect(Math.abs(streamed[i]!.wer - direct[i]!.wer), clip.id).to.be.at.most(0.01);
      });
      expect(Math.abs(pooledWordErrorRate(streamed).wer - pooledWordErrorRate(direct).wer)).to.be.at.most(0.01);
    });
  });

  describe('word timings', () => {
    it('places the words of each utterance where the speech is, in stream time', async () => {
      const [a, b] = [librivoxClips()[1]!, librivoxClips()[4]!]; // 0880, 0930
      const clipA = await readPcm(a.wavPath);
      const clipB = await readPcm(b.wavPath);
      const lead = 1500;
      const gap = 2000;
      const stream = concatPcm(silence(lead), clipA, silence(gap), clipB, silence(1000));
      const totalMs = stream.length / 16;
      const utterances = await decodeStream(stream);

      expect(utterances, 'one utterance per clip').to.have.length(2);
      const spans = [speechSpan(clipA), speechSpan(clipB)];
      const offsets = [lead, lead + clipA.length / 16 + gap];
      utterances.forEach((utterance, i) => {
        const words = utterance.words;
        for (const [k, word] of words.entries()) {
          expect(word.start_ms).to.be.at.most(word.end_ms);
          if (k > 0) expect(word.start_ms).to.be.at.least(words[k - 1]!.end_ms);
          expect(word.end_ms).to.be.at.most(totalMs);
          expect(word.confidence).to.be.within(0, 1);
        }
        const speechStart = offsets[i]! + spans[i]!.start_ms;
        const speechEnd = offsets[i]! + spans[i]!.end_ms;
        expect(utterance.start_ms, `utterance ${i} starts where its speech starts (${speechStart} ms)`).to.be.within(speechStart - 200, speechStart + 200);
        expect(utterance.end_ms, `utterance ${i} ends where its speech ends (${speechEnd} ms)`).to.be.within(speechEnd - 300, speechEnd + 300);
        expect(utterance.start_ms).to.equal(words[0]!.start_ms);
        expect(utterance.end_ms).to.equal(words[words.length - 1]!.end_ms);
      });
      expect(utterances[1]!.start_ms).to.be.greaterThan(utterances[0]!.end_ms + gap - 500);
    });

    it('delivers an utterance during the stream, once its trailing silence is in', async () => {
      const recognizer = new PocketsphinxRecognizer();
      const utterances: Utterance[] = [];
      recognizer.onUtterance((u) => utterances.push(u));
      await recognizer.start();
      recognizer.write(concatPcm(silence(500), await readPcm(librivoxClips()[1]!.wavPath), silence(1000)));
      await waitFor(() => utterances.length === 1, 10_000, 'the utterance before end()');
      expect(utterances[0]!.text).to.match(/\bwas not\b/);
      await recognizer.end();
      expect(recognizer.progress()).to.include({ unread_ms: 0, busy: false });
    });
  });

  describe('errors', () => {
    it('names the missing model directory and how to install it', async () => {
      const error = await startFailure(new PocketsphinxRecognizer({ modelDir: '/nonexistent/pocketsphinx-model' }));
      expect(error.code).to.equal('model_missing');
      expect(error.message).to.include('/nonexistent/pocketsphinx-model').and.include('apt-get install pocketsphinx pocketsphinx-en-us');
    });

    it('names the missing file of an incomplete model directory', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'earshot-model-'));
      try {
        mkdirSync(path.join(dir, 'en-us'));
        writeFileSync(path.join(dir, 'en-us', 'mdef'), '');
        const error = await startFailure(new PocketsphinxRecognizer({ modelDir: dir }));
        expect(error).to.include({ code: 'model_missing' });
        expect(error.message).to.include(path.join(dir, 'en-us.lm.bin'));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('reports what the program said when it cannot load a broken model', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'earshot-model-'));
      try {
        mkdirSync(path.join(dir, 'en-us'));
        writeFileSync(path.join(dir, 'en-us', 'mdef'), 'not a model definition\n');
        symlinkSync(path.join(M, 'en-us.lm.bin'), path.join(dir, 'en-us.lm.bin'));
        symlinkSync(path.join(M, 'cmudict-en-us.dict'), path.join(dir, 'cmudict-en-us.dict'));
        const error = await startFailure(new PocketsphinxRecognizer({ modelDir: dir }));
        expect(error).to.include({ code: 'start_failed' });
        expect(error.message).to.include(dir).and.match(/ERROR|FATAL/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('names the missing program and how to install it', async () => {
      const error = await startFailure(new PocketsphinxRecognizer({ binary: 'pocketsphinx_continuous_not_installed' }));
      expect(error).to.include({ code: 'binary_missing' });
      expect(error.message).to.include('pocketsphinx_continuous_not_installed').and.include('apt-get install pocketsphinx');
    });

    it('refuses audio before start() and after end()', async () => {
      const recognizer = new PocketsphinxRecognizer();
      expect(() => recognizer.write(silence(50))).to.throw(PocketsphinxError, /await start\(\) first/);
      await recognizer.start();
      await recognizer.end();
      expect(() => recognizer.write(silence(50))).to.throw(PocketsphinxError, /end\(\) was called/);
    });

    it('reports a killed process with how much audio it never read', async () => {
      const recognizer = new PocketsphinxRecognizer();
      const failed = nextError(recognizer);
      await recognizer.start();
      recognizer.write(silence(1000));
      await waitFor(() => recognizer.progress().read_ms === 1000, 5000, 'the first second to be read');
      const speech = await readPcm(librivoxClips()[0]!.wavPath);
      recognizer.write(speech.subarray(0, 3 * 16000));
      process.kill(recognizer.pid!, 'SIGKILL');

      const error = await failed;
      expect(error.code).to.equal('exited');
      expect(error.message).to.include('SIGKILL');
      expect(error.audio?.written_ms).to.equal(4000);
      expect(error.audio?.read_ms).to.be.at.least(1000);
      expect(error.audio?.unread_ms).to.be.within(2000, 3000);
      expect(error.message).to.include(`${(error.audio!.unread_ms / 1000).toFixed(2)} s of the 4.00 s of audio written was never read`);
      expect(() => recognizer.write(silence(50))).to.throw(PocketsphinxError, /exited unexpectedly/);
      await recognizer.end().then(
        () => expect.fail('end() resolved'),
        (e: unknown) => expect(e).to.equal(error),
      );
    });

    it('declares a process that stops reading hung, and kills it', async () => {
      const recognizer = new PocketsphinxRecognizer({ stallTimeoutMs: 1000 });
      const failed = nextError(recognizer);
      await recognizer.start();
      const pid = recognizer.pid!;
      process.kill(pid, 'SIGSTOP');
      await waitFor(() => processState(pid) === 'T', 5000, 'the process to stop');
      const writtenAt = Date.now();
      recognizer.write(silence(2000));
      const error = await failed;
      expect(Date.now() - writtenAt).to.be.within(900, 5000);
      expect(error.code).to.equal('stalled');
      expect(error.audio).to.include({ written_ms: 2000, unread_ms: 2000 });
      expect(error.message).to.include('made no progress for 1000 ms with 2.00 s of audio waiting');
      await waitFor(() => !processExists(pid), 5000, 'the hung process to be killed');
    });

    it('close() during start() rejects it and leaves no process', async () => {
      const recognizer = new PocketsphinxRecognizer();
      const starting = recognizer.start();
      await waitFor(() => recognizer.pid !== undefined, 5000, 'the process');
      const pid = recognizer.pid!;
      recognizer.close();
      const error: unknown = await starting.then(() => expect.fail('start() resolved'), (e: unknown) => e);
      expect(error).to.be.instanceOf(PocketsphinxError).and.include({ code: 'closed' });
      await waitFor(() => !processExists(pid), 5000, 'the process to go');
    });
  });
});

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The state letter in /proc/<pid>/stat: R, S, T (stopped), Z... */
function processState(pid: number): string | undefined {
  return /\) (\S)/.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
}
