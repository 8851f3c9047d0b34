/**
 * Whatever the file holds, loading ends in a config or a ConfigError whose
 * diagnostics point inside the file: never another exception, never a
 * message with a leftover placeholder or an `undefined`. Mutations of the
 * fixtures, from a fixed seed so a failure can be replayed.
 */
import { expect } from 'chai';
import { ConfigError, loadPipelineText } from '../../src/config/load.js';
import { fixtures } from './fixture-files.js';

/** mulberry32: small, seedable, good enough to pick mutations. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NOISE = [':', '{', '}', '[', ']', '-', '"', "'", '\t', '\n', '$', '${', '#', '&a', '*a', '!', '|', '>', ' ', '<<: *a', '0', 'x', '/'];

function mutate(text: string, next: () => number): string {
  const at = Math.floor(next() * text.length);
  const lines = text.split('\n');
  switch (Math.floor(next() * 5)) {
    case 0:
      return text.slice(0, at) + text.slice(at + 1 + Math.floor(next() * 4));
    case 1:
      return text.slice(0, at) + NOISE[Math.floor(next() * NOISE.length)]! + text.slice(at);
    case 2: {
      const line = Math.floor(next() * lines.length);
      lines.splice(line, 0, lines[line]!);
      return lines.join('\n');
    }
    case 3: {
      const a = Math.floor(next() * lines.length);
      const b = Math.floor(next() * lines.length);
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      return lines.join('\n');
    }
    default:
      return text.slice(0, at);
  }
}

describe('config: loading never fails other than with located diagnostics', () => {
  it('survives 1500 mutations of the example files', () => {
    const next = random(20261125);
    const sources = [...fixtures('valid'), ...fixtures('warn'), ...fixtures('broken')];
    let refused = 0;
    for (let i = 0; i < 1500; i++) {
      const source = sources[i % sources.length]!;
      let text = source.text;
      for (let n = 1 + Math.floor(next() * 3); n > 0; n--) text = mutate(text, next);
      const lineCount = text.split('\n').length;
      try {
        loadPipelineText(text, 'mutant.yaml', source.env);
      } catch (error) {
        expect(error, `mutation ${i} of ${source.name}:\n${text}`).to.be.instanceOf(ConfigError);
        refused++;
        for (const d of (error as ConfigError).diagnostics) {
          const where = `mutation ${i} of ${source.name}: ${JSON.stringify(d)}\n${text}`;
          expect(d.line, where).to.be.within(1, lineCount);
          expect(d.col, where).to.be.at.least(1);
          expect(d.message, where).to.not.match(/[\uE000-\uF8FF]|undefined|\[object Object\]/);
        }
      }
    }
    expect(refused).to.be.greaterThan(500);
  });
});
