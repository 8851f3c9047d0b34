/** The pipeline's `speakers` map: accepted as written, refused with the path for a label the service never sends, warned about when nothing labels speakers. */
import { expect } from 'chai';
import { ConfigError, formatDiagnostic, loadPipelineText } from '../../src/config/load.js';

const file = (speakers: string, params = '{ speaker_labels: true }'): string => `version: 1
pipelines:
  call:
    speakers: ${speakers}
    source: { type: synthetic, duration_ms: 1000 }
    transcriber: { type: assemblyai, api_key: k, url: "ws://127.0.0.1:1/v3/ws", params: ${params} }
    sinks: [{ type: console }]
`;

describe('config: speakers', () => {
  it('keeps the names by label, UNKNOWN included, with no warning when the transcriber labels speakers', () => {
    const loaded = loadPipelineText(file('{ A: Alice, B: "Bob Smith", UNKNOWN: someone }'), 'test.yaml', {});
    expect(loaded.config.pipelines.call?.speakers).to.deep.equal({ A: 'Alice', B: 'Bob Smith', UNKNOWN: 'someone' });
    expect(loaded.warnings.map(formatDiagnostic)).to.deep.equal([]);
  });

  it('refuses a label in lower case or an empty name, naming where', () => {
    let error: unknown;
    try {
      loadPipelineText(file('{ a: Alice, B: "" }'), 'test.yaml', {});
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const lines = (error as ConfigError).diagnostics.map(formatDiagnostic).join('\n');
    expect(lines).to.match(/test\.yaml:4:\d+: pipelines\.call\.speakers\.a: /);
    expect(lines).to.match(/test\.yaml:4:\d+: pipelines\.call\.speakers\.B: /);
  });

  it('warns that the names do nothing without speaker_labels: true', () => {
    const loaded = loadPipelineText(file('{ A: Alice }', '{ format_turns: true }'), 'test.yaml', {});
    expect(loaded.warnings.map(formatDiagnostic)).to.deep.equal([
      'test.yaml:4:5: pipelines.call.speakers: warning: speakers has no effect without speaker labels: set transcriber type assemblyai with params speaker_labels: true',
    ]);
  });
});
