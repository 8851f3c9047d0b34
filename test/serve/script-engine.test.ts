import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EngineTurnUpdate, RecognitionEngine } from '../../src/serve/engine.js';
import { createScriptEngine, loadScript, parseScript, ScriptError, type Script } from '../../src/serve/engines/script.js';
import { scriptWords } from '../../src/serve/engines/script-file.js';
import { captureLogs } from '../support/log-capture.js';
import { concatPcm, readWav, silence } from '../support/pcm.js';
import { buildToneAudio } from '../support/tone-audio.js';

const RATE = 16000;
const LIBRIVOX = '/usr/share/pocketsphinx/test/data/librivox';

const TONE_SCRIPT = parseScript(`
turns:
  - { text: "Hello, world.", tone_hz: 500 }
  - { text: "The quick brown fox jumps over the lazy dog.", tone_hz: 800, confidence: 0.8 }
  - { text: "Well -- it's 5 p.m. already!", tone_hz: 1100 }
`);

interface Heard {
  update: EngineTurnUpdate;
  /** audio position (ms) when the update came out */
  atMs: number;
}

/** Feeds `samples` in chunks of `chunkMs` and records each update with the audio position it came at. */
function run(script: Script, samples: Int16Array, chunkMs = 50, logger = captureLogs().logger): { heard: Heard[]; engine: RecognitionEngine; pushed: () => number } {
  const engine = createScriptEngine(script)({ sampleRate: RATE, logger });
  const heard: Heard[] = [];
  let position = 0;
  engine.onTurn((update) => heard.push({ update, atMs: (position / RATE) * 1000 }));
  engine.onError((error) => {
    throw error;
  });
  const per = Math.max(1, Math.round((chunkMs * RATE) / 1000));
  for (let start = 0; start < samples.length; start += per) {
    const chunk = samples.subarray(start, Math.min(samples.length, start + per));
    position += chunk.length;
    engine.pushAudio(chunk);
  }
  return { heard, engine, pushed: () => position };
}

const finals = (heard: Heard[]): EngineTurnUpdate[] => heard.filter((h) => h.update.end_of_turn).map((h) => h.update);
const text = (update: EngineTurnUpdate): string => update.words.map((word) => word.text).join(' ');

describe('script engine', () => {
  it('turns tone-coded audio into the scripted turns: partials growing at ~200 ms, finals after the end-of-turn silence', () => {
    const audio = buildToneAudio(TONE_SCRIPT);
    const { heard } = run(TONE_SCRIPT, audio.samples);
    const finalUpdates = finals(heard);
    expect(finalUpdates.map(text)).to.deep.equal(TONE_SCRIPT.turns.map((turn) => scriptWords(turn.text).join(' ')));
    expect(finalUpdates.map((update) => update.formatted_text)).to.deep.equal(TONE_SCRIPT.turns.map((turn) => turn.text));
    expect(text(finalUpdates[2] as EngineTurnUpdate)).to.equal("well it's 5 pm already");

    audio.turns.forEach((span, i) => {
      const turnHeard = heard.filter((h) => h.atMs > span.start_ms && h.atMs <= span.end_ms + 800);
      const partials = turnHeard.filter((h) => !h.update.end_of_turn);
      const final = turnHeard.find((h) => h.update.end_of_turn);
      expect(final, `final of turn ${i}`).to.not.equal(undefined);
      // The final comes once the end-of-turn silence (700 ms) has passed.
      expect((final as Heard).atMs - span.end_ms).to.be.within(690, 760);
      // Partials: on a 200 ms grid of audio, each a longer prefix of the turn, never the whole final text early.
      expect(partials.length, `partials of turn ${i}`).to.be.greaterThan(0);
      for (const partial of partials) expect((partial.atMs - span.start_ms) % 200).to.be.below(60);
      const transcripts = partials.map((p) => text(p.update));
      transcripts.forEach((transcript, k) => {
        if (k > 0) expect(transcript.length).to.be.greaterThan((transcripts[k - 1] as string).length);
        expect(scriptWords(TONE_SCRIPT.turns[i]?.text ?? '').join(' ').startsWith(transcript)).to.equal(true);
      });
      // Word times lie within the tone.
      for (const word of (final as Heard).update.words) {
        expect(word.start_ms).to.be.at.least(span.start_ms - 15);
        expect(word.end_ms).to.be.at.most(span.end_ms + 15);
      }
    });
    expect(finalUpdates[1]?.words[0]?.confidence).to.equal(0.8);
    expect(finalUpdates[0]?.end_of_turn_confidence).to.equal(1);
  });

  it('identifies turns by their tone, whatever the order they are played in', () => {
    const audio = buildToneAudio(TONE_SCRIPT, { order: [2, 0, 1, 0] });
    const { heard } = run(TONE_SCRIPT, audio.samples);
    expect(finals(heard).map((update) => update.formatted_text)).to.deep.equal(
      [2, 0, 1, 0].map((i) => TONE_SCRIPT.turns[i]?.text),
    );
  });

  it('gives the same updates however the audio is chunked (content-driven)', () => {
    const audio = buildToneAudio(TONE_SCRIPT);
    const reference = run(TONE_SCRIPT, audio.samples, 50).heard.map((h) => h.update);
    for (const chunkMs of [1000, 37, 100]) {
      expect(run(TONE_SCRIPT, audio.samples, chunkMs).heard.map((h) => h.update), `${chunkMs} ms chunks`).to.deep.equal(reference);
    }
  });

  it('gives no turn for a tone the script does not have, and logs why', () => {
    const stranger = parseScript('turns: [{ text: "Nobody.", tone_hz: 1700 }]');
    const audio = buildToneAudio(stranger);
    const { logger, records } = captureLogs();
    const { heard } = run(TONE_SCRIPT, audio.samples, 50, logger);
    expect(heard).to.deep.equal([]);
    const record = records.find((r) => String(r.msg).includes('no script turn matches'));
    expect(record).to.include({ strongest_tone_hz: 1100 });
    expect(record?.energy_share).to.be.below(0.5);
  });

  it('without tones, the k-th utterance of real speech is turn k; past the script, no turn (logged)', () => {
    const a = readWav(`${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0880.wav`);
    const b = readWav(`${LIBRIVOX}/sense_and_sensibility_01_austen_64kb-0930.wav`);
    expect(a.sampleRate).to.equal(RATE);
    const script = parseScript(`
turns:
  - text: "He was not an ill-disposed young man."
  - text: "He might even have been made amiable himself."
`);
    const speech = concatPcm(a.samples, silence(1500, RATE), b.samples, silence(1500, RATE), a.samples, silence(1500, RATE));
    const { logger, records } = captureLogs();
    const { heard } = run(script, speech, 100, logger);
    const finalUpdates = finals(heard);
    expect(finalUpdates.map((update) => update.formatted_text)).to.deep.equal(script.turns.map((turn) => turn.text));
    expect(text(finalUpdates[0] as EngineTurnUpdate)).to.equal('he was not an ill-disposed young man');
    expect(heard.filter((h) => !h.update.end_of_turn).length).to.be.greaterThan(4);
    expect(records.some((r) => String(r.msg).includes('past the end of the script'))).to.equal(true);
  });

  it('ForceEndpoint mid-voice finalizes the words heard so far and ignores the rest of that utterance', () => {
    const audio = buildToneAudio(TONE_SCRIPT, { order: [1, 0] });
    const span = audio.turns[0];
    const engine = createScriptEngine(TONE_SCRIPT)({ sampleRate: RATE });
    const updates: EngineTurnUpdate[] = [];
    engine.onTurn((update) => updates.push(update));
    const cut = Math.round((((span?.start_ms ?? 0) + 1000) * RATE) / 1000);
    engine.pushAudio(audio.samples.subarray(0, cut));
    engine.forceEndpoint();
    const forced = updates.at(-1);
    expect(forced?.end_of_turn).to.equal(true);
    // 1 s of voice at 350 ms a word: two whole words.
    expect(forced?.words.map((word) => word.text)).to.deep.equal(['the', 'quick']);
    expect(forced?.formatted_text).to.equal('The quick');
    engine.pushAudio(audio.samples.subarray(cut));
    const after = updates.slice(updates.indexOf(forced as EngineTurnUpdate) + 1);
    expect(after.filter((u) => u.end_of_turn).map((u) => u.formatted_text)).to.deep.equal(['Hello, world.']);
  });

  it('ForceEndpoint in the pause after speech finalizes the whole turn at once', () => {
    const audio = buildToneAudio(TONE_SCRIPT, { order: [0] });
    const span = audio.turns[0];
    const { heard, engine } = run(TONE_SCRIPT, audio.samples.subarray(0, Math.round((((span?.end_ms ?? 0) + 200) * RATE) / 1000)));
    expect(finals(heard)).to.deep.equal([]);
    engine.forceEndpoint();
    expect(finals(heard).map((u) => u.formatted_text)).to.deep.equal(['Hello, world.']);
    engine.forceEndpoint();
    expect(finals(heard)).to.have.length(1);
  });

  it('finish() delivers the pending turn: cut mid-voice, or whole in a pause', async () => {
    const audio = buildToneAudio(TONE_SCRIPT, { order: [1] });
    const span = audio.turns[0];
    const midVoice = run(TONE_SCRIPT, audio.samples.subarray(0, Math.round((((span?.start_ms ?? 0) + 760) * RATE) / 1000)));
    await midVoice.engine.finish();
    expect(finals(midVoice.heard).map(text)).to.deep.equal(['the quick']);
    const inPause = run(TONE_SCRIPT, audio.samples.subarray(0, Math.round((((span?.end_ms ?? 0) + 100) * RATE) / 1000)));
    await inPause.engine.finish();
    expect(finals(inPause.heard).map((u) => u.formatted_text)).to.deep.equal([TONE_SCRIPT.turns[1]?.text]);
  });

  it('lays out tone audio with lead-in, turn lengths from ms_per_word, and gaps', () => {
    const audio = buildToneAudio(TONE_SCRIPT, { leadInMs: 250, gapMs: 900 });
    expect(audio.turns.map((t) => [t.start_ms, t.end_ms])).to.deep.equal([
      [250, 250 + 700],
      [250 + 700 + 900, 250 + 700 + 900 + 9 * 350],
      [250 + 700 + 900 + 9 * 350 + 900, 250 + 700 + 900 + 9 * 350 + 900 + 5 * 350],
    ]);
    expect(audio.samples.length).to.equal((audio.durationMs * RATE) / 1000);
  });
});

describe('script file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'earshot-script-'));
  const problemsOf = (text: string): string[] => {
    try {
      parseScript(text, 'talk.yaml');
    } catch (error) {
      expect(error).to.be.instanceOf(ScriptError);
      return [...(error as ScriptError).problems];
    }
    throw new Error('expected the script to be refused');
  };

  it('reads YAML and JSON with engine settings', async () => {
    const file = join(dir, 'script.json');
    writeFileSync(file, JSON.stringify({ turns: [{ text: 'Hi.' }], end_of_turn_silence_ms: 400, energy_threshold_dbfs: -30 }));
    const script = await loadScript(file);
    expect(script.turns).to.deep.equal([{ text: 'Hi.' }]);
    expect(script.settings).to.include({ end_of_turn_silence_ms: 400, energy_threshold_dbfs: -30, partial_interval_ms: 200 });
  });

  it('names the file, line, column, path and what is valid for each problem, all at once', () => {
    const problems = problemsOf(['turns:', '  - text: "Hello."', '    tone_hz: 700', '  - text: 5', '    tone_hz: 710', '    colour: red', 'end_of_turn_silence: 300'].join('\n'));
    expect(problems).to.deep.equal([
      'talk.yaml:7:1: end_of_turn_silence: unknown key; valid keys: turns, end_of_turn_silence_ms, energy_threshold_dbfs, partial_interval_ms, ms_per_word, min_speech_ms, tone_match_ratio',
      'talk.yaml:6:5: turns[1].colour: unknown key; valid keys: text, tone_hz, confidence, speaker, revise',
      'talk.yaml:4:11: turns[1].text: must be a string with at least one word',
    ]);
  });

  it('refuses tones on some turns only, tones too close together, and out-of-range values', () => {
    expect(problemsOf('turns: [{ text: a, tone_hz: 700 }, { text: b }]')).to.deep.equal([
      'talk.yaml:1:36: turns[1]: has no tone_hz while other turns have one: give every turn a tone_hz, or none',
    ]);
    expect(problemsOf('turns: [{ text: a, tone_hz: 700 }, { text: b, tone_hz: 710 }]')[0]).to.match(
      /^talk\.yaml:1:56: turns\[1\]\.tone_hz: 710 Hz is within 25 Hz of turns\[0\] \(700 Hz\)/,
    );
    expect(problemsOf('turns: [{ text: a, confidence: 1.5 }]\nms_per_word: fast')).to.deep.equal([
      'talk.yaml:2:14: ms_per_word: must be an integer from 20 to 5000, got "fast"',
      'talk.yaml:1:32: turns[0].confidence: must be a number from 0 to 1, got 1.5',
    ]);
    expect(problemsOf('turns: []')).to.deep.equal(['talk.yaml:1:8: turns: must be a non-empty list of turns, each { text, tone_hz?, confidence?, speaker?, revise? }']);
  });

  it('reports YAML syntax errors and unreadable files with the file name', async () => {
    expect(problemsOf('turns: [ { text: "a" ')[0]).to.match(/^talk\.yaml:1:\d+: /);
    const missing = join(dir, 'absent.yaml');
    try {
      await loadScript(missing);
      expect.fail('expected a ScriptError');
    } catch (error) {
      expect((error as Error).message).to.include(`${missing}: cannot read the script: no such file`);
    }
  });
});
