/** The script file's speakers and revisions: read, checked with the place of each mistake, and emitted by the engine. */
import { expect } from 'chai';
import type { EngineTurnUpdate } from '../../src/serve/engine.js';
import { createScriptEngine, parseScript, ScriptError } from '../../src/serve/engines/script.js';
import { buildToneAudio } from '../support/tone-audio.js';

function problems(text: string): readonly string[] {
  try {
    parseScript(text, 'talk.yaml');
  } catch (error) {
    if (error instanceof ScriptError) return error.problems;
    throw error;
  }
  throw new Error('expected the script to be refused');
}

describe('script engine: speakers and revisions', () => {
  it('reads a speaker per turn and revisions of earlier turns', () => {
    const script = parseScript(`
turns:
  - { text: "One.", speaker: A }
  - { text: "Two.", speaker: B, revise: [{ turn: 0, speaker: B }] }
`);
    expect(script.turns).to.deep.equal([
      { text: 'One.', speaker: 'A' },
      { text: 'Two.', speaker: 'B', revise: [{ turn: 0, speaker: 'B' }] },
    ]);
  });

  it('names each mistake with its place: a label not in capitals, a revision of a later turn, of nothing, an unknown key', () => {
    expect(
      problems(`
turns:
  - { text: "One.", speaker: alice, revise: [{ turn: 0, speaker: B }] }
  - { text: "Two.", revise: [{ turn: 1, speaker: A }, { turn: 0, who: A }] }
  - { text: "Three.", revise: [] }
`),
    ).to.deep.equal([
      'talk.yaml:3:30: turns[0].speaker: must be a speaker label in capital letters (A, B, ..., UNKNOWN), got "alice"',
      'talk.yaml:3:54: turns[0].revise[0].turn: the first turn has no earlier turn to revise',
      'talk.yaml:4:38: turns[1].revise[0].turn: must be an integer from 0 to 0, got 1',
      'talk.yaml:4:66: turns[1].revise[1].who: unknown key; valid keys: turn, speaker',
      'talk.yaml:4:55: turns[1].revise[1].speaker: is missing; give a speaker label in capital letters (A, B, ..., UNKNOWN)',
      'talk.yaml:5:31: turns[2].revise: must be a non-empty list of { turn, speaker }',
    ]);
  });

  it('revises only turns heard in the session, by the turn_order they had there', () => {
    const script = parseScript(`
turns:
  - { text: "Alpha one.", tone_hz: 500, speaker: A }
  - { text: "Beta two.", tone_hz: 900, speaker: B }
  - { text: "Gamma three.", tone_hz: 1300, speaker: A, revise: [{ turn: 0, speaker: B }, { turn: 1, speaker: A }] }
`);
    const engine = createScriptEngine(script)({ sampleRate: 16000 });
    const finals: EngineTurnUpdate[] = [];
    engine.onTurn((update) => update.end_of_turn && finals.push(update));
    // This session hears turn 1, then turn 2: turn 0 was never heard, turn 1 is its turn_order 0.
    engine.pushAudio(buildToneAudio(script, { order: [1, 2] }).samples);
    expect(finals.map((f) => f.speaker)).to.deep.equal(['B', 'A']);
    expect(finals[0]?.revisions).to.equal(undefined);
    expect(finals[1]?.revisions).to.deep.equal([{ turn_order: 0, speaker: 'A' }]);
  });
});
