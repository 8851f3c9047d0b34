/** Shared by the subtitle tests: the cue rules a viewer checks, on cues parsed back by a real parser. */
import { expect } from 'chai';
import type { WebVTTNode } from 'webvtt-parser';
import type { TranscriptEvent } from '../../src/model/transcript.js';

export function words(text: string): string[] {
  return text.split(/\s+/).filter((w) => w !== '');
}

export function treeText(node: WebVTTNode): string {
  return (node.value ?? '') + (node.children ?? []).map(treeText).join('');
}

export interface ParsedCue {
  start: number;
  end: number;
  lines: string[];
}

/** What the turns say, one entry per shown word, with its turn and, when the turn has word times, when it was spoken. */
function wordsByTurn(turns: TranscriptEvent[], shown: (text: string) => string): { word: string; turn: TranscriptEvent; spokenAt: number | undefined }[] {
  return turns.flatMap((turn) => {
    const tokens = words(shown(turn.text));
    const timed = turn.words.length === tokens.length;
    return tokens.map((word, i) => ({ word, turn, spokenAt: timed ? turn.words[i]!.start_ms / 1000 : undefined }));
  });
}

/**
 * The cue rules a viewer checks. `shown` maps a turn's text to what the format can show of it;
 * `minS` is the minimum duration in seconds.
 */
export function checkCueRules(cues: ParsedCue[], turns: TranscriptEvent[], shown = (text: string) => text, minS = 0.833): void {
  expect(cues.length).to.be.greaterThan(turns.length, 'long turns are split into several cues');
  // Read in order, the cues say exactly what the turns said.
  const said = wordsByTurn(turns, shown);
  expect(words(cues.map((c) => c.lines.join(' ')).join(' '))).to.deep.equal(said.map((w) => w.word));
  let at = 0;
  for (const [i, cue] of cues.entries()) {
    const name = `cue ${i + 1} (${cue.start}-${cue.end})`;
    const { turn, spokenAt } = said[at]!;
    const count = words(cue.lines.join(' ')).length;
    expect(said.slice(at, at + count).every((w) => w.turn === turn), `${name} holds words of one turn`).to.equal(true);
    at += count;
    expect(cue.end, `${name} has a duration`).to.be.greaterThan(cue.start);
    expect(cue.end - cue.start, `${name} lasts at most 7 s`).to.be.at.most(7);
    expect(cue.lines.length, `${name} has one or two lines`).to.be.within(1, 2);
    for (const line of cue.lines) expect([...line].length, `${name}: "${line}"`).to.be.at.most(42);
    const next = cues[i + 1];
    if (next) expect(next.start, `cue ${i + 2} starts after ${name} ends`).to.be.at.least(cue.end);
    // On screen until the minimum after its first word was spoken, unless the next cue comes sooner.
    const heldUntil = (spokenAt ?? cue.start) + minS - 0.0005;
    if (!next || next.start >= heldUntil) expect(cue.end, `${name} is held the minimum`).to.be.at.least(heldUntil);
    // Never behind the speech by a minimum or more.
    if (spokenAt !== undefined) expect(cue.start - spokenAt, `${name} shows at most a hold late`).to.be.below(minS);
    // Within its turn's words, give or take the hold: never before the words, at most a hold late, held at most the minimum.
    const first = turn.words[0]?.start_ms ?? turn.start_ms;
    const last = turn.words[turn.words.length - 1]?.end_ms ?? turn.end_ms;
    expect(cue.start, `${name} starts within its turn`).to.be.within(first / 1000 - 0.0005, last / 1000 + minS);
    expect(cue.end, `${name} ends by its turn's end or the hold`).to.be.at.most(Math.max(last / 1000, cue.start + minS) + 0.0005);
  }
  // A cue starts where a word starts (or where a held cue before it ends), and ends where a word ends,
  // where the minimum ends, or where the next cue of its turn starts.
  const starts = new Set(turns.flatMap((t) => t.words.map((w) => w.start_ms / 1000)));
  const ends = new Set(turns.flatMap((t) => t.words.map((w) => w.end_ms / 1000)));
  const timed = cues.filter((c) => c.start < turns[turns.length - 1]!.start_ms / 1000);
  for (const [i, cue] of timed.entries()) {
    const before = timed[i - 1];
    const after = timed[i + 1];
    expect(starts.has(cue.start) || cue.start === before?.end, `cue start ${cue.start} is a word start or the end of a held cue`).to.equal(true);
    const held = [...starts].some((spoken) => Math.abs(cue.end - spoken - minS) < 0.0005) || cue.end === after?.start;
    expect(ends.has(cue.end) || held, `cue end ${cue.end} is a word end or the end of a hold`).to.equal(true);
  }
}
