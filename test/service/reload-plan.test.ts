/** What a reload does with each pipeline and each `service:` setting, decided from the two configs. */
import { expect } from 'chai';
import { loadPipelineText } from '../../src/config/load.js';
import type { PipelineFileConfig } from '../../src/config/schema.js';
import { isEmptyPlan, planReload } from '../../src/service/reload-plan.js';

function config(text: string): PipelineFileConfig {
  return loadPipelineText(`version: 1\n${text}`, 'pipeline.yaml', {}).config;
}

const pipeline = (name: string, extra = '') => `  ${name}:
    source: { type: synthetic${extra} }
    transcriber: { type: local }
    sinks: [{ type: file, path: "out/${name}.jsonl" }]
`;

describe('reload plan', () => {
  const running = config(`pipelines:\n${pipeline('me')}${pipeline('them')}${pipeline('notes')}`);

  it('keeps unchanged pipelines, restarts changed ones, stops removed ones and starts new ones', () => {
    const next = config(`pipelines:\n${pipeline('me')}${pipeline('them', ', frequency_hz: 880')}${pipeline('radio')}`);
    const plan = planReload(running, next);
    expect(plan.keep).to.deep.equal(['me']);
    expect([...plan.restart]).to.deep.equal([['them', 'source changed']]);
    expect(plan.stop).to.deep.equal(['notes']);
    expect(plan.start).to.deep.equal(['radio']);
  });

  it('sees through key order, anchors and spelled-out defaults: the same settings are unchanged', () => {
    const next = config(`x-source: &tone { frame_ms: 50, type: synthetic }
pipelines:
  me:
    sinks: [{ path: "out/me.jsonl", type: file, format: jsonl }]
    transcriber: { type: local }
    source: *tone
${pipeline('them')}${pipeline('notes')}`);
    const plan = planReload(running, next);
    expect(plan.keep).to.deep.equal(['me', 'them', 'notes']);
    expect(isEmptyPlan(plan)).to.equal(true);
  });

  it('starts a pipeline again that had failed, even with its settings unchanged', () => {
    const plan = planReload(running, running, new Set(['them']));
    expect([...plan.restart]).to.deep.equal([['them', 'it had failed']]);
    expect(plan.keep).to.deep.equal(['me', 'notes']);
  });

  it('applies log level, HTTP and timeout changes without touching pipelines; a new state_dir restarts them all', () => {
    const service = config(`service:\n  http: { port: 9500 }\n  log: { level: debug }\n  shutdown_timeout_ms: 5000\npipelines:\n${pipeline('me')}${pipeline('them')}${pipeline('notes')}`);
    const plan = planReload(running, service);
    expect(plan.service).to.deep.equal({ http: true, logLevel: 'debug', logFormat: false, shutdownTimeout: true, stateDir: false });
    expect(plan.keep).to.have.length(3);

    const moved = config(`service: { state_dir: /var/lib/earshot }\npipelines:\n${pipeline('me')}${pipeline('them')}${pipeline('notes')}`);
    const restartAll = planReload(running, moved);
    expect([...restartAll.restart.values()]).to.deep.equal(Array(3).fill('service.state_dir changed'));
    expect(planReload(running, config(`service: { log: { format: pretty } }\npipelines:\n${pipeline('me')}${pipeline('them')}${pipeline('notes')}`)).service.logFormat).to.equal(true);
  });
});
