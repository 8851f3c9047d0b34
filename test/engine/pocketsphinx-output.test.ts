import { expect } from 'chai';
import { UtteranceParser, isFiller, type Utterance } from '../../src/engine/pocketsphinx-output.js';

/**
 * Output of pocketsphinx_continuous -time yes on two LibriVox clips with silence
 * between, with a [SPEECH] and a <sil> line from another run spliced into the first.
 */
const CAPTURED = [
  '', // the hypothesis of an utterance of noise alone: an empty line
  '<s> 0.000 0.500 0.999900',
  '</s> 0.510 0.870 1.000000',
  'he was not an illness was young man',
  '<s> 0.920 1.090 0.999300',
  'he 1.100 1.220 0.894480',
  'was(2) 1.230 1.430 0.801696',
  'not 1.440 2.030 0.999200',
  '[SPEECH] 2.030 2.040 0.535598',
  'an(2) 2.040 2.180 0.283499',
  'illness 2.190 2.550 0.534100',
  '<sil> 2.550 2.560 0.540981',
  'was 2.560 3.010 0.468843',
  'young 3.020 3.210 0.337285',
  'man 3.220 3.690 0.457449',
  '</s> 3.700 3.990 1.000000',
  "he might even have been made a real boy i'm self",
  '<s> 5.870 6.190 0.999400',
  'he 6.200 6.360 0.997303',
  'might 6.370 6.620 0.996705',
  'even 6.630 6.900 0.999700',
  'have 6.910 7.060 0.406243',
  'been 7.070 7.310 0.988960',
  'made 7.320 7.660 0.999600',
  'a(2) 7.670 7.850 0.586278',
  'real 7.860 8.020 0.597943',
  'boy 8.030 8.290 0.978629',
  "i'm(2) 8.300 8.410 0.057267",
  'self 8.420 9.030 0.148537',
  '<sil> 9.040 9.290 0.988762',
  '</s> 9.300 9.760 1.000000',
].join('\n');

function parse(text: string): { utterances: Utterance[]; empties: number; completedAfterLine: number[] } {
  const utterances: Utterance[] = [];
  const completedAfterLine: number[] = [];
  let empties = 0;
  let lineNumber = 0;
  const parser = new UtteranceParser(
    (u) => {
      utterances.push(u);
      completedAfterLine.push(lineNumber);
    },
    () => empties++,
  );
  for (const line of text.split('\n')) {
    lineNumber++;
    parser.line(line);
  }
  parser.end();
  return { utterances, empties, completedAfterLine };
}

describe('pocketsphinx_continuous output', () => {
  it('gives each utterance its words without fillers or alternate-pronunciation suffixes', () => {
    const { utterances, empties } = parse(CAPTURED);
    expect(empties).to.equal(1); // the noise-only utterance at the start
    expect(utterances.map((u) => u.text)).to.deep.equal([
      'he was not an illness was young man',
      "he might even have been made a real boy i'm self",
    ]);
    const first = utterances[0]!;
    expect(first.words[1]).to.deep.equal({ text: 'was', start_ms: 1230, end_ms: 1430, confidence: 0.801696 });
    expect(first.words.map((w) => w.text)).to.not.include.members(['[SPEECH]', '<sil>', '<s>', '</s>']);
    expect(first.start_ms).to.equal(1100);
    expect(first.end_ms).to.equal(3690);
  });

  it('completes an utterance at its last real word, without waiting for the next one', () => {
    const { completedAfterLine } = parse(CAPTURED);
    // "man" is line 15 and "self" line 29 of the capture.
    expect(completedAfterLine).to.deep.equal([15, 29]);
  });

  it('delivers an utterance cut short by the end of output', () => {
    const { utterances } = parse('hello world\n<s> 0.000 0.100 1.0\nhello 0.100 0.400 0.9');
    expect(utterances).to.have.length(1);
    expect(utterances[0]!.text).to.equal('hello');
  });

  it('clamps confidence to 0..1', () => {
    const { utterances } = parse('yes\nyes 0.100 0.400 1.000300');
    expect(utterances[0]!.words[0]!.confidence).to.equal(1);
  });

  it('knows the fillers', () => {
    for (const filler of ['<s>', '</s>', '<sil>', '[NOISE]', '[SPEECH]', '++GARBAGE++']) expect(isFiller(filler)).to.equal(true);
    for (const word of ['was(2)', "i'm", 'a']) expect(isFiller(word)).to.equal(false);
  });
});
