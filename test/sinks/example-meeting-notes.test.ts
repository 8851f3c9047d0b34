/** The example plugin (examples/plugins/meeting-notes.js), loaded the way a pipeline loads it. */
import { expect } from 'chai';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPipelineFile } from '../../src/config/load.js';
import type { PluginSinkConfig } from '../../src/config/schema.js';
import { createPluginSink, loadSinkPlugin, PluginLoadError } from '../../src/sinks/plugin.js';
import type { SinkContext } from '../../src/sinks/sink.js';
import { SinkActor } from '../../src/sinks/sink-actor.js';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import { sinkContext, transcriptEvent } from '../support/sink-events.js';

const examples = resolve(dirname(fileURLToPath(import.meta.url)), '../../../examples');
const pluginPath = join(examples, 'plugins', 'meeting-notes.js');

describe('example plugin: Markdown meeting notes', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-notes-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(options: Record<string, unknown>, events: TranscriptEvent[], context: Partial<SinkContext> = {}): Promise<void> {
    const config: PluginSinkConfig = { type: 'plugin', module: pluginPath, options, queue_events: 100, queue_policy: 'drop_oldest' };
    const actor = new SinkActor('notes', await createPluginSink(config, sinkContext(dir, context)), 100, 'drop_oldest', sinkContext(dir).logger);
    await actor.start();
    for (const event of events) actor.tell(event);
    await actor.drain();
    expect(actor.counters).to.deep.equal({ written: events.length, errors: 0, dropped: 0 });
  }

  it('is used by examples/meeting-notes.yaml, which is valid and whose options the plugin accepts', async () => {
    const { config } = await loadPipelineFile(join(examples, 'meeting-notes.yaml'), { env: { ASSEMBLYAI_API_KEY: 'test-key' } });
    const sink = config.pipelines.meeting?.sinks.find((s) => s.type === 'plugin');
    expect(sink?.type).to.equal('plugin');
    const loaded = await loadSinkPlugin(sink as PluginSinkConfig, { module: (sink as PluginSinkConfig).module, pipeline: 'meeting', sink: 'notes' }, examples);
    expect(loaded.path).to.equal(pluginPath);
    expect(loaded.options).to.deep.equal({ path: 'notes/{date}-{pipeline}.md', title: 'Meeting', speakers: { A: 'Alice', B: 'Bob' }, time: 'wall' });
  });

  it('appends each finished turn as a bullet with its time and speaker; a new run starts a new section', async () => {
    const options = { path: 'notes/{pipeline}-{date}.md', time: 'audio', speakers: { A: 'Alice' } };
    await run(options, [
      transcriptEvent(0, { final: false, text: 'So the plan', start_ms: 61_000, speaker: 'A' }),
      transcriptEvent(1, { text: 'So the plan is to ship on Friday.', start_ms: 61_000, speaker: 'A' }),
      transcriptEvent(2, { text: 'Friday works.', start_ms: 3_725_400, speaker: 'B' }),
      transcriptEvent(3, { text: 'Who is that?', start_ms: 3_730_000, speaker: 'UNKNOWN' }),
    ], { label: 'them' });
    await run(options, [transcriptEvent(0, { text: 'Back again.', start_ms: 0 })]);

    const today = new Date();
    const date = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
    const markdown = await readFile(join(dir, 'notes', `meeting-${date}.md`), 'utf8');
    const heading = `## Meeting notes, ${date} \\d\\d:\\d\\d:\\d\\d`;
    expect(markdown).to.match(new RegExp(
      `^${heading}\n\n` +
      '- \\*\\*00:01:01\\*\\* Alice: So the plan is to ship on Friday\\.\n' +
      '- \\*\\*01:02:05\\*\\* Speaker B: Friday works\\.\n' +
      '- \\*\\*01:02:10\\*\\* them: Who is that\\?\n' +
      `\n${heading}\n\n` +
      '- \\*\\*00:00:00\\*\\* Back again\\.\n$',
    ));
  });

  it('shows the time of day the turn was heard with time: wall', async () => {
    const heardAt = new Date(2025, 0, 2, 14, 3, 7).toISOString();
    await run({ path: join(dir, 'wall.md'), title: 'Standup' }, [transcriptEvent(0, { text: 'Morning.', received_at: heardAt })]);
    expect(await readFile(join(dir, 'wall.md'), 'utf8')).to.match(/^## Standup, .*\n\n- \*\*14:03:07\*\* Morning\.\n$/);
  });

  it('rejects options it does not understand, naming them', async () => {
    const error = await createPluginSink(
      { type: 'plugin', module: pluginPath, options: { path: 'notes.md', time: 'utc', speaker: {} }, queue_events: 10, queue_policy: 'drop_oldest' },
      sinkContext(dir),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(PluginLoadError);
    expect((error as PluginLoadError).problems).to.have.members([
      'options.time: must be one of "wall", "audio" (got "utc")',
      'options.speaker: unknown option; did you mean speakers? Valid options here: path, title, time, speakers.',
    ]);
  });
});
