import { expect } from 'chai';
import { normaliseWords, pooledWordErrorRate, wordErrorRate } from '../support/wer.js';
import { librivoxClips, parseTranscription } from '../support/librivox.js';

describe('word error rate', () => {
  it('is 0 for the same words, whatever the case, punctuation and spacing', () => {
    const r = wordErrorRate('Hello, World! It is   me.', 'hello world it is me');
    expect(r).to.include({ wer: 0, hits: 5, substitutions: 0, deletions: 0, insertions: 0, reference_words: 5 });
  });

  it('normalises to lower-case words without punctuation', () => {
    expect(normaliseWords("  Don't STOP;\n\tbelieving... ")).to.deep.equal(['dont', 'stop', 'believing']);
  });

  it('counts a substitution', () => {
    expect(wordErrorRate('a b c', 'a x c')).to.include({ substitutions: 1, deletions: 0, insertions: 0, hits: 2 });
    expect(wordErrorRate('a b c', 'a x c').wer).to.be.closeTo(1 / 3, 1e-12);
  });

  it('counts a deletion', () => {
    const r = wordErrorRate('the cat sat on the mat', 'the cat sat on mat');
    expect(r).to.include({ deletions: 1, substitutions: 0, insertions: 0, hits: 5 });
    expect(r.wer).to.be.closeTo(1 / 6, 1e-12);
  });

  it('counts an insertion', () => {
    const r = wordErrorRate('a b c', 'a b c d');
    expect(r).to.include({ insertions: 1, deletions: 0, substitutions: 0, hypothesis_words: 4 });
    expect(r.wer).to.be.closeTo(1 / 3, 1e-12);
  });

  it('scores a real decode against its LibriVox reference (checked by hand)', () => {
    // ill -> illness and disposed -> those: two substitutions out of eight words.
    const r = wordErrorRate('he was not an ill disposed young man', 'he was not an illness those young man');
    expect(r).to.include({ substitutions: 2, deletions: 0, insertions: 0, hits: 6, wer: 0.25 });
  });

  it('finds the cheapest alignment when words are both missing and added', () => {
    // reference:  mister john dashwood had then leisure
    // hypothesis: mr     john guess what  and  then at leisure
    // mister->mr, dashwood->guess, had->what, +and, +at: 3 S + 2 I over 6 words.
    const r = wordErrorRate('mister john dashwood had then leisure', 'mr john guess what and then at leisure');
    expect(r.substitutions + r.deletions + r.insertions).to.equal(5);
    expect(r.hits).to.equal(3);
    expect(r.wer).to.be.closeTo(5 / 6, 1e-12);
  });

  it('can exceed 1 when the hypothesis is longer than the reference', () => {
    expect(wordErrorRate('a', 'b c d')).to.include({ substitutions: 1, insertions: 2, wer: 3 });
  });

  it('handles empty texts', () => {
    expect(wordErrorRate('', '').wer).to.equal(0);
    expect(wordErrorRate('', 'noise').wer).to.equal(Infinity);
    expect(wordErrorRate('two words', '')).to.include({ deletions: 2, wer: 1 });
  });

  it('pools counts, not rates', () => {
    const pooled = pooledWordErrorRate([wordErrorRate('a b c', 'a x c'), wordErrorRate('d e f g h', 'd e f g h')]);
    expect(pooled).to.include({ reference_words: 8, substitutions: 1, hits: 7 });
    expect(pooled.wer).to.be.closeTo(1 / 8, 1e-12);
  });
});

describe('LibriVox clips', () => {
  it('parses "<s> words </s> (clip-id)" lines', () => {
    const parsed = parseTranscription('<s> he was not </s> (clip-1)\n\n<s> a b </s> (clip-2)\n');
    expect(parsed).to.deep.equal([
      { id: 'clip-1', reference: 'he was not' },
      { id: 'clip-2', reference: 'a b' },
    ]);
  });

  it('names the line that does not fit', () => {
    expect(() => parseTranscription('<s> ok </s> (a)\nhe was not (b)', 'x.txt')).to.throw(/x\.txt:2: expected/);
  });

  it('lists the five clips Debian ships with their references', () => {
    const clips = librivoxClips();
    expect(clips).to.have.length(5);
    const clip = clips.find((c) => c.id === 'sense_and_sensibility_01_austen_64kb-0880');
    expect(clip?.reference).to.equal('he was not an ill disposed young man');
    expect(clip?.wavPath).to.match(/0880\.wav$/);
  });
});
