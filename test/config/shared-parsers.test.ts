/** The parsers capture and sinks share with validation: device selectors and path templates. */
import { expect } from 'chai';
import { parseDeviceSelector } from '../../src/config/device-selector.js';
import { parsePathTemplate, renderPathTemplate } from '../../src/config/path-template.js';

describe('config: device selectors', () => {
  it('reads ids, names, the default and /regex/flags', () => {
    expect(parseDeviceSelector(undefined)).to.deep.equal({ kind: 'default' });
    expect(parseDeviceSelector(7)).to.deep.equal({ kind: 'id', id: 7 });
    expect(parseDeviceSelector('BlackHole 2ch')).to.deep.equal({ kind: 'name', name: 'BlackHole 2ch' });
    const selector = parseDeviceSelector('/monitor$/i');
    expect(selector.kind).to.equal('pattern');
    const pattern = (selector as { pattern: RegExp }).pattern;
    expect(pattern.test('Monitor of Built-in Audio Analog Stereo')).to.equal(false);
    expect(pattern.test('alsa_output.pci.analog-stereo.MONITOR')).to.equal(true);
    expect(pattern.test('alsa_output.pci.analog-stereo.monitor')).to.equal(true);
  });

  it('refuses patterns that cannot match the same way twice, or at all', () => {
    expect(() => parseDeviceSelector('/mon/g')).to.throw(TypeError, 'flag g makes matching depend on earlier matches');
    expect(() => parseDeviceSelector('//')).to.throw(TypeError, 'empty regular expression');
    expect(() => parseDeviceSelector('/(/')).to.throw(TypeError, 'device /(/ is not a valid regular expression: Unterminated group');
    expect(() => parseDeviceSelector('/x/q')).to.throw(TypeError, 'is not a valid regular expression');
  });
});

describe('config: path templates', () => {
  const values = { pipeline: 'meeting', label: 'them', date: '2026-11-25', time: '101500', session: 'abc' };

  it('renders every placeholder and leaves the rest alone', () => {
    expect(renderPathTemplate('t/{pipeline}-{label}/{date}T{time}-{session}.jsonl', values)).to.equal('t/meeting-them/2026-11-25T101500-abc.jsonl');
    expect(renderPathTemplate('plain.txt', values)).to.equal('plain.txt');
  });

  it('finds unbalanced braces', () => {
    expect(parsePathTemplate('a/{date.txt').problems).to.deep.equal(["'{' at character 3 is not closed by '}'"]);
    expect(parsePathTemplate('a/date}.txt').problems).to.deep.equal(["'}' without a matching '{'"]);
    expect(parsePathTemplate('a/{}.txt').problems).to.deep.equal(["empty placeholder '{}'"]);
    expect(parsePathTemplate('{pipeline}/{date}').problems).to.deep.equal([]);
  });
});
