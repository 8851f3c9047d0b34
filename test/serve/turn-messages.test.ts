import { expect } from 'chai';
import { basicFormat, formattedFinal, partialTurn, unformattedFinal } from '../../src/serve/turn-messages.js';
import type { EngineTurnUpdate } from '../../src/serve/engine.js';

const update = (texts: string[], extra: Partial<EngineTurnUpdate> = {}): EngineTurnUpdate => ({
  words: texts.map((text, i) => ({ text, start_ms: 100 + i * 300.4, end_ms: 350 + i * 300.4, confidence: 0.9 })),
  end_of_turn: true,
  end_of_turn_confidence: 0.87654,
  ...extra,
});

describe('turn messages', () => {
  it('a partial: words joined, every word final but the last, times in whole ms', () => {
    expect(partialTurn(3, update(['hello', 'wor'], { end_of_turn: false }))).to.deep.equal({
      type: 'Turn',
      turn_order: 3,
      turn_is_formatted: false,
      end_of_turn: false,
      transcript: 'hello wor',
      end_of_turn_confidence: 0.877,
      words: [
        { start: 100, end: 350, confidence: 0.9, text: 'hello', word_is_final: true },
        { start: 400, end: 650, confidence: 0.9, text: 'wor', word_is_final: false },
      ],
      utterance: '',
    });
  });

  it('finals: the unformatted one, then the formatted one with the engine text on the words', () => {
    const done = update(['well', "it's", 'five'], { formatted_text: "Well -- it's five!" });
    expect(unformattedFinal(0, done)).to.include({ transcript: "well it's five", utterance: "well it's five", turn_is_formatted: false });
    const formatted = formattedFinal(0, done);
    expect(formatted).to.include({ transcript: "Well -- it's five!", turn_is_formatted: true, end_of_turn: true });
    expect(formatted.words.map((w) => [w.text, w.word_is_final])).to.deep.equal([
      ['Well', true],
      ["it's", true],
      ['five!', true],
    ]);
  });

  it('formats bare words itself when the engine gives no formatted text', () => {
    expect(basicFormat(['hello', 'there'])).to.equal('Hello there.');
    expect(basicFormat(['really?'])).to.equal('Really?');
    expect(formattedFinal(1, update(['hello', 'there'])).words.map((w) => w.text)).to.deep.equal(['Hello', 'there.']);
  });
});
