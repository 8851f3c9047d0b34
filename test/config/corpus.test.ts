/**
 * The corpus: every broken pipeline file under test/fixtures/config/broken
 * is refused with exactly the located messages its `# expect:` lines give,
 * in file order, nothing more (one message per mistake); every file under
 * warn/ loads, with exactly its expected warnings.
 */
import { expect } from 'chai';
import { ConfigError, loadPipelineText } from '../../src/config/load.js';
import { fixtures, located } from './fixture-files.js';

describe('config: broken pipeline files', () => {
  const broken = fixtures('broken');

  it('the corpus holds at least 30 files, each with its expected messages', () => {
    expect(broken.length).to.be.at.least(30);
    for (const fixture of broken) expect(fixture.expected.length, fixture.name).to.be.greaterThan(0);
  });

  for (const fixture of broken) {
    it(`${fixture.name}: ${fixture.description}`, () => {
      let error: unknown;
      try {
        loadPipelineText(fixture.text, fixture.name, fixture.env);
      } catch (caught) {
        error = caught;
      }
      expect(error, 'the file must be refused').to.be.instanceOf(ConfigError);
      const diagnostics = (error as ConfigError).diagnostics;
      expect(diagnostics.map(located)).to.deep.equal(fixture.expected);
      for (const d of diagnostics) expect(d.file).to.equal(fixture.name);
    });
  }
});

describe('config: files that load with warnings', () => {
  for (const fixture of fixtures('warn')) {
    it(`${fixture.name}: ${fixture.description}`, () => {
      const loaded = loadPipelineText(fixture.text, fixture.name, fixture.env);
      expect(loaded.warnings.map(located)).to.deep.equal(fixture.expected);
      for (const w of loaded.warnings) expect(w.severity).to.equal('warning');
    });
  }
});
