import { createRequire } from 'node:module';
import { expect } from 'chai';
import SrtParser from 'srt-parser-2';
import webvtt from 'webvtt-parser';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import { createFormatter, formatJsonLine, formatTextLine, SrtFormatter, VttFormatter } from '../../src/sinks/formats/index.js';
import { checkCueRules, treeText } from './cue-check.js';
import { finalTurn, SENTENCES, timedWords } from './helpers.js';

const entities = createRequire(import.meta.url)('webvtt-parser/html-entities.json') as Record<string, string>;

/** A conversation: short and long turns, one without words, pauses inside a turn. */
function conversation(): TranscriptEvent[] {
  const turns: TranscriptEvent[] = [];
  let at = 500;
  for (const text of SENTENCES) {
    const turn = finalTurn(text, at);
    turns.push(turn);
    at = turn.end_ms + 900;
  }
  const paused = [...timedWords('Well I think', at), ...timedWords('we are done here', at + 4000)];
  turns.push(finalTurn('Well I think we are done here', at, { words: paused }));
  at += 8000;
  turns.push(finalTurn('This turn came without word timings at all.', at, { words: [], start_ms: at, end_ms: at + 2500 }));
  return turns;
}

describe('subtitle formats', () => {
  it('writes SRT that srt-parser-2 reads back as the turns, numbered from 1, in short non-overlapping cues', () => {
    const turns = conversation();
    const srt = new SrtFormatter();
    const file = turns.map((t) => srt.format(t)).join('');
    expect(file).to.match(/^1\n00:00:00,500 --> 00:00:\d\d,\d{3}\n/);
    const parsed = new SrtParser().fromSrt(file);
    expect(parsed.map((c) => c.id)).to.deep.equal(parsed.map((_c, i) => String(i + 1)));
    const cues = parsed.map((c) => ({ start: c.startSeconds, end: c.endSeconds, lines: c.text.split('\n') }));
    // SRT cannot escape; an arrow in the text would read as a timing line, so it is shortened.
    checkCueRules(cues, turns, (text) => text.replace('-->', '->'));
    expect(file.split('\n').filter((line) => line.includes('-->')).every((line) => /^\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}$/.test(line))).to.equal(true);
  });

  it('writes WebVTT that webvtt-parser accepts without errors and decodes to the turns', () => {
    const turns = conversation();
    const vtt = new VttFormatter();
    const file = 'WEBVTT\n\n' + turns.map((t) => vtt.format(t)).join('');
    const parsed = new webvtt.WebVTTParser(entities).parse(file, 'subtitles');
    expect(parsed.errors).to.deep.equal([]);
    const cues = parsed.cues.map((c) => ({ start: c.startTime, end: c.endTime, lines: treeText(c.tree).split('\n') }));
    checkCueRules(cues, turns);
    expect(file).to.contain('&amp;').and.to.contain('&lt;ready&gt;').and.to.contain('--&gt;');
    expect(file).not.to.match(/<|[^-]->/);
  });

  it('splits a long turn at word boundaries by length, duration and pauses', () => {
    const long = finalTurn(SENTENCES[2]!, 0);
    const cues = new SrtParser().fromSrt(new SrtFormatter().format(long));
    expect(cues.length).to.be.at.least(2);
    const paused = finalTurn('one two three four', 0, {
      words: [...timedWords('one two', 0), ...timedWords('three four', 5000)],
    });
    const split = new SrtParser().fromSrt(new SrtFormatter().format(paused));
    expect(split.map((c) => c.text)).to.deep.equal(['one two', 'three four']);
    expect(split[1]!.startSeconds).to.equal(5);
  });

  it('keeps cues apart and never empty when the words overlap or have no length', () => {
    const srt = new SrtFormatter();
    const a = finalTurn('first turn', 1000, { words: [{ text: 'first', start_ms: 1000, end_ms: 1000, confidence: 1 }, { text: 'turn', start_ms: 1000, end_ms: 1000, confidence: 1 }] });
    const b = finalTurn('overlapping next', 900, { words: timedWords('overlapping next', 900) });
    const cues = new SrtParser().fromSrt(srt.format(a) + srt.format(b));
    expect(cues).to.have.length(2);
    expect(cues[0]!.endSeconds).to.be.greaterThan(cues[0]!.startSeconds);
    expect(cues[1]!.startSeconds).to.be.at.least(cues[0]!.endSeconds);
    expect(cues[1]!.endSeconds).to.be.greaterThan(cues[1]!.startSeconds);
  });

  it('shows the formatted text when it lines up with the words, and times past 99 hours', () => {
    const turn = finalTurn('Hello, world.', 360_000_000 + 1234, { words: timedWords('hello world', 360_000_000 + 1234) });
    const out = new VttFormatter().format(turn);
    expect(out).to.equal('100:00:01.234 --> 100:00:02.067\nHello, world.\n\n', 'two words in 680 ms, held for 5/6 s');
  });

  it('numbers cues without gaps when a record could not be written and is formatted again', () => {
    const srt = new SrtFormatter();
    const late = finalTurn('written later', 9000);
    srt.format(late);
    srt.undo();
    const cues = new SrtParser().fromSrt(srt.format(finalTurn('first', 1000)) + srt.format(late));
    expect(cues.map((c) => [c.id, c.startSeconds])).to.deep.equal([['1', 1], ['2', 9]]);
  });

  it('restarts SRT numbering and repeats the VTT header in each new file', () => {
    const one = createFormatter('srt', { timestamps: false, labels: false });
    one.format(finalTurn('a b', 0));
    const two = createFormatter('srt', { timestamps: false, labels: false });
    expect(two.format(finalTurn('c d', 5000))).to.match(/^1\n/);
    expect(createFormatter('vtt', { timestamps: false, labels: false }).header).to.equal('WEBVTT\n\n');
  });
});

describe('line formats', () => {
  it('jsonl writes one line with exactly the TranscriptEvent fields', () => {
    const turn = { ...finalTurn('Hi there.', 0, { speaker: 'A' }), internal: 'not for files' } as TranscriptEvent;
    const line = formatJsonLine(turn);
    expect(line.endsWith('\n')).to.equal(true);
    expect(line.slice(0, -1)).not.to.contain('\n');
    const back = JSON.parse(line) as Record<string, unknown>;
    expect(back).not.to.have.property('internal');
    const { internal: _dropped, ...expected } = turn as TranscriptEvent & { internal: string };
    expect(back).to.deep.equal(expected);
  });

  it('text writes one line per turn, with the timestamp, label and speaker when asked', () => {
    const turn = finalTurn('Hello\nthere.', 62_345, { label: 'them', speaker: 'B' });
    expect(formatTextLine(turn, { timestamps: false, labels: false })).to.equal('Hello there.\n');
    expect(formatTextLine(turn, { timestamps: true, labels: true })).to.equal('[00:01:02.345] them (speaker B): Hello there.\n');
    expect(formatTextLine(finalTurn('  ', 0), { timestamps: true, labels: true })).to.equal('');
  });
});
