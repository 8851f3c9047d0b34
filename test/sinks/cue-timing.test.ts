/** Minimum time on screen for subtitle cues, through the formatters and through a real file sink. */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import SrtParser from 'srt-parser-2';
import webvtt from 'webvtt-parser';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import { SinkConfigError } from '../../src/sinks/errors.js';
import { createFileSink } from '../../src/sinks/file.js';
import { cueLimits, SrtFormatter } from '../../src/sinks/formats/index.js';
import { checkCueRules, treeText } from './cue-check.js';
import { finalTurn, SENTENCES, testContext, timedWords, type TestContext } from './helpers.js';

const entities = createRequire(import.meta.url)('webvtt-parser/html-entities.json') as Record<string, string>;

function srtTimes(file: string): [number, number][] {
  return new SrtParser().fromSrt(file).map((c) => [Math.round(c.startSeconds * 1000), Math.round(c.endSeconds * 1000)]);
}

/** Quick exchanges: one-word turns, and turns that start right after a short one. */
function quickExchange(): TranscriptEvent[] {
  const turns: TranscriptEvent[] = [];
  let at = 1000;
  for (const text of ['Yes.', 'No.', SENTENCES[0]!, 'Right.', SENTENCES[1]!, 'OK.', 'Sure.', SENTENCES[2]!]) {
    const turn = finalTurn(text, at, { words: timedWords(text, at, 250, 60) });
    turns.push(turn);
    at = turn.end_ms + 150;
  }
  return turns;
}

describe('subtitle cues: minimum time on screen', () => {
  it('holds a one-word cue for 5/6 s; a turn starting sooner shows when the hold ends, held until 5/6 s after its own words began', () => {
    const srt = new SrtFormatter();
    const yes = finalTurn('Yes.', 1000, { words: timedWords('Yes.', 1000, 300) });
    const goOn = finalTurn('Go on.', 1500, { words: timedWords('Go on.', 1500, 300) });
    const later = finalTurn('Later.', 9000, { words: timedWords('Later.', 9000, 300) });
    expect(srtTimes(srt.format(yes) + srt.format(goOn) + srt.format(later))).to.deep.equal([
      [1000, 1833],
      [1833, 2333], // its words are 1500-2180: 333 ms late
      [9000, 9833],
    ]);
  });

  it('within a turn, holds a cue only until the next cue of the turn starts', () => {
    const oneWordCues = new SrtFormatter(cueLimits({ max_line_chars: 10, max_lines: 1 }));
    // 300 ms words, 80 ms apart: each cue would need 833 ms, the next starts after 380.
    expect(srtTimes(oneWordCues.format(finalTurn('alphabet benchmark calendars', 0)))).to.deep.equal([
      [0, 380],
      [380, 760],
      [760, 1593],
    ]);
    // A pause inside the turn leaves room for the whole hold.
    const paused = finalTurn('one two three', 0, { words: [...timedWords('one', 0), ...timedWords('two three', 5000)] });
    expect(srtTimes(new SrtFormatter().format(paused))).to.deep.equal([
      [0, 833],
      [5000, 5833],
    ]);
  });

  it('min_duration_ms 0 leaves cues at their words', () => {
    const srt = new SrtFormatter(cueLimits({ min_duration_ms: 0 }));
    expect(srtTimes(srt.format(finalTurn('Yes.', 1000, { words: timedWords('Yes.', 1000, 300) })))).to.deep.equal([[1000, 1300]]);
  });

  describe('through the file sink, with cues: options', () => {
    let ctx: TestContext;
    beforeEach(async () => {
      ctx = await testContext('file#1');
    });
    afterEach(() => ctx.cleanup());

    for (const format of ['srt', 'vtt'] as const) {
      it(`${format}: every cue lasts min_duration_ms unless the next comes sooner, none overlap, all stay with their words`, async () => {
        const sink = createFileSink({ path: `out/quick.${format}`, format, cues: { min_duration_ms: 1200, max_line_chars: 32 } }, ctx);
        await sink.start();
        const turns = quickExchange();
        for (const turn of turns) await sink.write(turn);
        await sink.stop();
        const file = await readFile(sink.files[0]!, 'utf8');
        const cues =
          format === 'srt'
            ? new SrtParser().fromSrt(file).map((c) => ({ start: c.startSeconds, end: c.endSeconds, lines: c.text.split('\n') }))
            : (() => {
                const parsed = new webvtt.WebVTTParser(entities).parse(file, 'subtitles');
                expect(parsed.errors).to.deep.equal([]);
                return parsed.cues.map((c) => ({ start: c.startTime, end: c.endTime, lines: treeText(c.tree).split('\n') }));
              })();
        checkCueRules(cues, turns, (text) => text, 1.2);
        for (const cue of cues) for (const line of cue.lines) expect([...line].length).to.be.at.most(32);
        const shown = (text: string) => cues.find((c) => c.lines.join(' ') === text);
        expect(shown('Yes.')).to.deep.include({ start: 1, end: 2.2 }, 'held 1.2 s');
        expect(shown('No.')).to.deep.include({ start: 2.2, end: 2.6 }, 'spoken at 1.4, shown when Yes. ends, held until 1.2 s after it was spoken');
        expect(cues.at(-1)!.end - cues.at(-1)!.start, 'the last cue is held').to.be.at.least(1.2 - 0.0005);
      });
    }

    it('refuses cue limits that cannot hold, naming the field', () => {
      expect(() => createFileSink({ path: 'x.srt', format: 'srt', cues: { min_duration_ms: 8000 } }, ctx)).to.throw(
        SinkConfigError,
        /file#1: cues\.min_duration_ms: 8000 is more than cues\.max_duration_ms \(7000\)/,
      );
      expect(() => createFileSink({ path: 'x.srt', format: 'srt', cues: { max_lines: 0 } }, ctx)).to.throw(SinkConfigError, /cues\.max_lines/);
      expect(() => createFileSink({ path: 'x.srt', format: 'srt', cues: { min_duration: 1000 } as never }, ctx)).to.throw(SinkConfigError, /cues/);
    });
  });
});
