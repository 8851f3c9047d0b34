import { expect } from 'chai';
import type { EngineTurnUpdate, RecognitionEngine } from '../../src/serve/engine.js';
import { FORCED_ENDPOINT_SILENCE_MS, createLocalEngine, formatTurnText } from '../../src/serve/engines/local.js';
import { librivoxClips, readPcm } from '../support/librivox.js';
import { concatPcm, silence } from '../support/pcm.js';
import { speechSpan } from '../support/speech-span.js';
import { wordErrorRate } from '../support/wer.js';

const [clip0870, clip0880] = [librivoxClips()[0]!, librivoxClips()[1]!];

/** An engine with its turns and errors collected. */
function openEngine(sampleRate: number, modelDir?: string): { engine: RecognitionEngine; turns: EngineTurnUpdate[]; errors: Error[] } {
  const engine = createLocalEngine({ modelDir })({ sampleRate });
  const turns: EngineTurnUpdate[] = [];
  const errors: Error[] = [];
  engine.onTurn((turn) => turns.push(turn));
  engine.onError((error) => errors.push(error));
  return { engine, turns, errors };
}

/** Push in 50 ms chunks, as a client of the service sends them. */
function push(engine: RecognitionEngine, samples: Int16Array, sampleRate: number): void {
  const chunk = sampleRate / 20;
  for (let i = 0; i < samples.length; i += chunk) engine.pushAudio(samples.subarray(i, i + chunk));
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function text(turn: EngineTurnUpdate): string {
  return turn.words.map((w) => w.text).join(' ');
}

describe('local engine (pocketsphinx)', function () {
  this.timeout(30_000);

  it('gives one final turn per utterance, with words in session time, and finish() waits for it', async () => {
    const speech = await readPcm(clip0880.wavPath);
    const { engine, turns, errors } = openEngine(16000);
    push(engine, concatPcm(silence(1000), speech, silence(300)), 16000);
    await engine.finish();

    expect(errors).to.deep.equal([]);
    expect(turns).to.have.length(1);
    const turn = turns[0]!;
    expect(turn).to.include({ end_of_turn: true, end_of_turn_confidence: 1 });
    expect(wordErrorRate(clip0880.reference, text(turn)).wer).to.be.at.most(0.5);
    const span = speechSpan(speech);
    expect(turn.words[0]!.start_ms).to.be.within(1000 + span.start_ms - 200, 1000 + span.start_ms + 200);
    expect(turn.words.at(-1)!.end_ms).to.be.within(1000 + span.end_ms - 300, 1000 + span.end_ms + 300);
    expect(turn.formatted_text).to.equal(formatTurnText(turn.words.map((w) => w.text)));
    expect(turn.formatted_text).to.match(/^He .*\.$/);
  });

  it('forceEndpoint() ends the turn without more audio, and later times stay in session audio', async () => {
    const first = await readPcm(clip0870.wavPath);
    const second = await readPcm(clip0880.wavPath);
    const { engine, turns, errors } = openEngine(16000);
    const cut = 2000; // mid-sentence: "and mister john dashwood had..."
    push(engine, concatPcm(silence(500), first.subarray(0, cut * 16)), 16000);
    engine.forceEndpoint();
    await waitFor(() => turns.length === 1, 8000, 'the forced turn');
    expect(turns[0]!.end_of_turn).to.equal(true);
    expect(turns[0]!.words.at(-1)!.end_ms).to.be.at.most(500 + cut);

    const resumeAt = 500 + cut + 1000; // session time where the second clip starts
    push(engine, concatPcm(silence(1000), second, silence(300)), 16000);
    await engine.finish();
    expect(errors).to.deep.equal([]);
    expect(turns).to.have.length(2);
    const start = resumeAt + speechSpan(second).start_ms;
    // Without the correction it would be FORCED_ENDPOINT_SILENCE_MS later.
    expect(turns[1]!.words[0]!.start_ms).to.be.within(start - 200, start + 200);
    expect(FORCED_ENDPOINT_SILENCE_MS).to.be.greaterThan(400);
  });

  it('takes 48 kHz audio and recognises it as well as 16 kHz, at the same times', async () => {
    const at16 = openEngine(16000);
    push(at16.engine, concatPcm(silence(1000), await readPcm(clip0880.wavPath), silence(300)), 16000);
    const at48 = openEngine(48000);
    push(at48.engine, concatPcm(silence(1000, 48000), await readPcm(clip0880.wavPath, 48000), silence(300, 48000)), 48000);
    await Promise.all([at16.engine.finish(), at48.engine.finish()]);

    expect(at48.errors).to.deep.equal([]);
    expect(at48.turns).to.have.length(1);
    const wer16 = wordErrorRate(clip0880.reference, text(at16.turns[0]!)).wer;
    const wer48 = wordErrorRate(clip0880.reference, text(at48.turns[0]!)).wer;
    expect(wer48).to.be.at.most(wer16 + 0.13); // one word in eight
    expect(at48.turns[0]!.words[0]!.start_ms).to.be.closeTo(at16.turns[0]!.words[0]!.start_ms, 60);
    expect(at48.turns[0]!.words.at(-1)!.end_ms).to.be.closeTo(at16.turns[0]!.words.at(-1)!.end_ms, 60);
  });

  it('reports a missing model through onError, and finish() rejects with it', async () => {
    const { engine, errors } = openEngine(16000, '/nonexistent/model');
    engine.pushAudio(silence(50));
    const finished: unknown = await engine.finish().then(() => 'resolved', (e: unknown) => e);
    expect(errors).to.have.length(1);
    expect(errors[0]!.message).to.include('/nonexistent/model').and.include('apt-get install pocketsphinx pocketsphinx-en-us');
    expect(finished).to.equal(errors[0]);
    engine.close();
  });

  it('refuses a sample rate that is not a positive integer', () => {
    expect(() => createLocalEngine()({ sampleRate: -8000 })).to.throw(RangeError, /sample_rate must be a positive integer, got -8000/);
  });

  it('formats a turn as a sentence', () => {
    expect(formatTurnText(['he', 'was', 'not'])).to.equal('He was not.');
    expect(formatTurnText([])).to.equal('');
  });
});
