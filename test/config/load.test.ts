/**
 * Loading valid pipeline files: defaults, environment interpolation and its
 * typing, anchors, reading from disk, and the shape of ConfigError.
 */
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, formatDiagnostic, loadPipelineFile, loadPipelineText, type LoadedConfig } from '../../src/config/load.js';
import type { FileSinkConfig, PluginSinkConfig, WebhookSinkConfig } from '../../src/config/schema.js';
import { FIXTURES } from './fixture-files.js';

const EVERY_TYPE_ENV = {
  ASSEMBLYAI_API_KEY: 'test-api-key-0123456789',
  ASSEMBLYAI_TOKEN: 'temporary-token-abcdef',
  METRICS_PORT: '9470',
  WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  HOOK_TOKEN: 'hook-bearer-token-42',
};

function load(name: string, env: Record<string, string> = EVERY_TYPE_ENV): Promise<LoadedConfig> {
  return loadPipelineFile(`${FIXTURES}valid/${name}`, { env });
}

/** The refusal of `text`, or a failure when it loads. */
function refusal(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    loadPipelineText(text, 'test.yaml', env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected the file to be refused');
}

describe('config: loading valid files', () => {
  it('fills in every default of a minimal file', async () => {
    const loaded = await load('minimal.yaml', {});
    expect(loaded.warnings).to.deep.equal([]);
    expect(loaded.baseDir).to.equal(path.join(FIXTURES, 'valid'));
    expect(loaded.config).to.deep.equal({
      version: 1,
      service: { log: { level: 'info', format: 'auto' }, shutdown_timeout_ms: 20000, state_dir: '.earshot' },
      pipelines: {
        tone: {
          source: {
            type: 'synthetic',
            signal: 'tone',
            frequency_hz: 440,
            amplitude: 0.3,
            sample_rate: 16000,
            channels: 1,
            frame_ms: 50,
            ring_seconds: 10,
            ring_policy: 'drop_oldest',
          },
          transcriber: {
            type: 'local',
            engine: 'pocketsphinx',
            model_dir: '/usr/share/pocketsphinx/model/en-us',
            restart: { max_attempts: 20, initial_delay_ms: 250, max_delay_ms: 15000 },
            buffer_seconds: 30,
          },
          sinks: [
            { type: 'console', partials: 'auto', timestamps: false, labels: 'auto', color: 'auto', queue_events: 10000, queue_policy: 'drop_oldest' },
          ],
        },
      },
    });
  });

  it('loads every source, transcriber and sink type, with their defaults', async () => {
    const { config, warnings } = await load('every-type.yaml');
    expect(warnings).to.deep.equal([]);
    expect(Object.keys(config.pipelines)).to.deep.equal(['them', 'me', 'replay', 'tone']);
    expect(config.service).to.deep.equal({
      http: { host: '127.0.0.1', port: 9470, captions: true },
      log: { level: 'debug', format: 'json' },
      shutdown_timeout_ms: 30000,
      state_dir: '.earshot',
    });

    const them = config.pipelines.them!;
    expect(them.source).to.deep.include({ type: 'portaudio', device: '/monitor|BlackHole/i', open_format: 'auto', sample_rate: 16000 });
    expect(them.transcriber).to.deep.equal({
      type: 'assemblyai',
      api_key: 'test-api-key-0123456789',
      url: 'wss://streaming.eu.assemblyai.com/v3/ws',
      params: {
        format_turns: true,
        speech_model: 'universal-streaming-english',
        keyterms_prompt: ['earshot', 'AssemblyAI'],
        min_turn_silence: 400,
        max_turn_silence: 1280,
      },
      reconnect: { max_attempts: 0, initial_delay_ms: 100, max_delay_ms: 15000 },
      buffer_seconds: 60,
      connect_timeout_ms: 10000,
      termination_timeout_ms: 5000,
    });
    expect(them.sinks.map((s) => s.type)).to.deep.equal(['console', 'file', 'webhook']);
    const webhook = them.sinks[2] as WebhookSinkConfig;
    expect(webhook).to.deep.include({
      name: 'captions-api',
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      headers: { Authorization: 'Bearer hook-bearer-token-42', 'X-Team': 'earshot' },
      batch_max_events: 10,
      batch_timeout_ms: 500,
      timeout_ms: 10000,
      retry_initial_delay_ms: 500,
      retry_max_delay_ms: 60000,
      partials: false,
      queue_policy: 'drop_oldest',
    });

    const me = config.pipelines.me!;
    expect(me.source).to.deep.include({ type: 'portaudio', device: 3, sample_rate: 48000, frame_ms: 20 });
    expect(me.transcriber).to.deep.include({ type: 'local', restart: { max_attempts: 5, initial_delay_ms: 250, max_delay_ms: 15000 } });
    expect(me.sinks[0]).to.deep.equal({ type: 'wav', path: 'recordings/{label}-{date}-{time}.wav', rotate_seconds: 3600 });
    expect((me.sinks[1] as FileSinkConfig).format).to.equal('text');

    const replay = config.pipelines.replay!;
    expect(replay.source).to.deep.include({ type: 'file', realtime: false, loop: false });
    expect(replay.transcriber).to.deep.include({ token: 'temporary-token-abcdef', params: {} });
    expect(replay.transcriber).to.not.have.property('api_key');
    expect(replay.sinks[0]).to.deep.include({
      module: './sinks/my-sink.js',
      options: { channel: '#captions', password: 'hunter2hunter2' },
      queue_events: 100,
      queue_policy: 'drop_newest',
    });

    const tone = config.pipelines.tone!;
    expect(tone.source).to.deep.include({ type: 'synthetic', frequency_hz: 1000, duration_ms: 5000 });
    expect(tone.sinks[0]).to.deep.include({ type: 'file', format: 'jsonl', partials: true, rotate: { max_bytes: 1048576 } });
  });

  it('shares settings through anchors and merge keys, each pipeline with its own copy', async () => {
    const { config } = await load('anchors.yaml');
    expect(config).to.not.have.property('x-assemblyai');
    const left = config.pipelines.left!.transcriber;
    const right = config.pipelines.right!.transcriber;
    expect(left).to.deep.include({ type: 'assemblyai', api_key: 'test-api-key-0123456789', params: { format_turns: true }, buffer_seconds: 30 });
    expect(right).to.deep.include({ type: 'assemblyai', api_key: 'test-api-key-0123456789', params: { format_turns: false }, buffer_seconds: 5 });
    expect(left.type === 'assemblyai' && right.type === 'assemblyai' && left.reconnect !== right.reconnect).to.equal(true);
  });

  it('refuses a file that does not exist, or is a directory, with the reason', async () => {
    const missing = path.join(FIXTURES, 'no-such-file.yaml');
    const absent = await loadPipelineFile(missing).catch((e: unknown) => e);
    expect(absent).to.be.instanceOf(ConfigError);
    expect((absent as ConfigError).diagnostics).to.deep.equal([
      { file: missing, line: 0, col: 0, path: '', message: 'cannot read the pipeline file: no such file (ENOENT)', severity: 'error' },
    ]);
    expect(formatDiagnostic((absent as ConfigError).diagnostics[0]!)).to.equal(`${missing}: cannot read the pipeline file: no such file (ENOENT)`);
    const directory = await loadPipelineFile(FIXTURES).catch((e: unknown) => e);
    expect((directory as ConfigError).errors[0]!.message).to.equal('cannot read the pipeline file: it is a directory, not a file (EISDIR)');
  });

  it('reads a file written to disk and resolves baseDir from it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'earshot-config-'));
    try {
      const file = path.join(dir, 'pipelines.yaml');
      await writeFile(file, 'version: 1\npipelines:\n  a: { source: { type: synthetic }, transcriber: { type: local }, sinks: [{ type: console }] }\n');
      const loaded = await loadPipelineFile(file, { env: {} });
      expect(loaded.baseDir).to.equal(dir);
      expect(loaded.file).to.equal(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports every error in the ConfigError message, warnings kept apart', () => {
    const error = refusal(
      'version: 1\npipelines:\n  a:\n    source: { type: synthetic, frequency_hz: 9000 }\n    transcriber: { type: local }\n    sinks: [{ type: fil }, { type: consle }]\n',
    );
    expect(error.errors.map(formatDiagnostic)).to.deep.equal([
      "test.yaml:6:21: pipelines.a.sinks[0].type: unknown sink type 'fil'; did you mean 'file'? valid: console, file, webhook, wav, plugin",
      "test.yaml:6:36: pipelines.a.sinks[1].type: unknown sink type 'consle'; did you mean 'console'? valid: console, file, webhook, wav, plugin",
    ]);
    expect(error.warnings.map(formatDiagnostic)).to.deep.equal([
      'test.yaml:4:46: pipelines.a.source.frequency_hz: warning: 9000 Hz is at or above half the 16000 Hz sample rate, so the tone comes out at a different pitch',
    ]);
    expect(error.message).to.equal(`test.yaml: 2 problems\n${error.errors.map(formatDiagnostic).join('\n')}`);
  });
});

describe('config: environment interpolation', () => {
  /** The value a plugin sink's options receive (free-form, so no schema gets in the way). */
  function expand(value: string, env: Record<string, string>): unknown {
    const text = `version: 1\npipelines:\n  p:\n    source: { type: synthetic }\n    transcriber: { type: local }\n    sinks:\n      - type: plugin\n        module: ./x.js\n        options:\n          v: ${value}\n`;
    const options = (loadPipelineText(text, 'test.yaml', env).config.pipelines.p!.sinks[0] as PluginSinkConfig).options;
    return options.v;
  }

  const cases: [string, Record<string, string>, unknown][] = [
    ['${N}', { N: '42' }, 42],
    ['${N}', { N: '0x1F' }, 31],
    ['${N}', { N: '2.5' }, 2.5],
    ['${B}', { B: 'true' }, true],
    ['${B}', { B: 'null' }, null],
    ['${E}', { E: '' }, ''],
    ['"${N}"', { N: '42' }, '42'],
    ["'${N}'", { N: '42' }, '42'],
    ['${N}${N}', { N: '4' }, '44'],
    ['${N} items', { N: '4' }, '4 items'],
    ['$${N}', { N: '4' }, '${N}'],
    ['costs $5', {}, 'costs $5'],
    ['${U:-fallback}', {}, 'fallback'],
    ['${E:-fallback}', { E: '' }, 'fallback'],
    ['${E-fallback}', { E: '' }, ''],
    ['${U-fallback}', {}, 'fallback'],
    ['${N:?needed}', { N: '7' }, 7],
    ['${U:-8080}', {}, 8080],
    // Values are data, never YAML: no structure can come in from the environment.
    ['${S}', { S: 'a: b, c' }, 'a: b, c'],
    ['${S}', { S: '[1, 2]' }, '[1, 2]'],
    ['${S}', { S: '*alias' }, '*alias'],
    ['"${S}"', { S: 'say "hi"' }, 'say "hi"'],
    ['|\n            line ${N}\n            next', { N: '1' }, 'line 1\nnext\n'],
  ];
  for (const [written, env, expected] of cases) {
    it(`${JSON.stringify(written)} with ${JSON.stringify(env)} gives ${JSON.stringify(expected)}`, () => {
      expect(expand(written, env)).to.deep.equal(expected);
    });
  }

  it('expands inside a flow mapping, where a bare { would break YAML', () => {
    const text = 'version: 1\npipelines:\n  p: { source: { type: synthetic }, transcriber: { type: local }, sinks: [{ type: webhook, url: "https://x.test/h", secret: ${S} }] }\n';
    const sink = loadPipelineText(text, 'test.yaml', { S: 'shh-secret' }).config.pipelines.p!.sinks[0] as WebhookSinkConfig;
    expect(sink.secret).to.equal('shh-secret');
  });

  it('ignores references in comments', () => {
    const text = '# uses ${NOT_SET}\nversion: 1 # ${ALSO_NOT_SET}\npipelines:\n  p: { source: { type: synthetic }, transcriber: { type: local }, sinks: [{ type: console }] }\n';
    expect(() => loadPipelineText(text, 'test.yaml', {})).to.not.throw();
  });

  it('reports ${VAR?message} and an unset ${VAR} where they are written', () => {
    const error = refusal(
      'version: 1\npipelines:\n  p:\n    source: { type: file, path: "${DIR?set DIR to the recordings folder}/a.wav" }\n    transcriber: { type: local, model_dir: ${MODELS} }\n    sinks: [{ type: console }]\n',
    );
    expect(error.diagnostics.map(formatDiagnostic)).to.deep.equal([
      'test.yaml:4:34: pipelines.p.source.path: environment variable DIR is not set: set DIR to the recordings folder',
      'test.yaml:5:44: pipelines.p.transcriber.model_dir: environment variable MODELS is not set',
    ]);
  });

  it('leaves no placeholder behind, in values or in messages', () => {
    const error = refusal('version: 1\npipelines:\n  ${P}: { sink: "${Q}", x: [${R}, "$${S}"] }\n', { Q: 'q', R: 'r' });
    for (const d of error.diagnostics) expect(d.message).to.not.match(/[\uE000-\uF8FF]/);
    expect(error.diagnostics.map((d) => d.path)).to.include('pipelines["${P}"]');
  });
});
