/**
 * `earshot run` as a long-lived service, end to end: the real command in a
 * child process runs two pipelines (a looping file at real-time pace each)
 * into an in-process `earshot serve` with the script engine. The test
 * scrapes /healthz and /metrics, edits one pipeline and sends SIGHUP, then
 * SIGTERM, and checks what a user or an operator would: the unchanged
 * pipeline kept its transcriber session, every sink got every final turn
 * and flushed it, the exit code is 0, and no secret was written anywhere.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestReceiver } from '../sinks/webhook-receiver.js';
import { EarshotProcess, fetchHealth, fetchText, sample, scrape, ScriptServer, waitFor, writeToneWav, type Exit, type Health, type LogRecord } from './harness.js';

const API_KEY = `sk-test-${randomBytes(12).toString('hex')}`;
const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const ROOM_CODE = `room-${randomBytes(8).toString('hex')}`;
/** In an option neither the schema nor its name marks secret; only the variable's name says so. */
const CHANNEL_TOKEN = `chan-${randomBytes(8).toString('hex')}`;
const SECRETS = {
  'the API key': API_KEY,
  'the webhook secret': WEBHOOK_SECRET,
  'the secret plugin option': ROOM_CODE,
  'a variable named as a secret': CHANNEL_TOKEN,
};

/** A plugin that marks room_code secret in its schema, and carelessly logs its options. */
const JOURNAL_PLUGIN = `import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
export default {
  optionsSchema: {
    type: 'object',
    required: ['path', 'room_code'],
    properties: { path: { type: 'string' }, room_code: { type: 'string', 'x-secret': true }, channel: { type: 'string' } },
  },
  create(options, context) {
    context.logger.info({ options }, 'journal options');
    const path = resolve(context.baseDir, options.path);
    mkdirSync(dirname(path), { recursive: true });
    return {
      write(event) {
        if (event.final) appendFileSync(path, JSON.stringify({ room: 'ok', text: event.text }) + '\\n');
      },
    };
  },
};
`;

function pipelineFile(themPath: string): string {
  return `version: 1
service:
  http: { host: 127.0.0.1, port: 0 }
  log: { level: debug, format: json }
x-transcriber: &transcriber
  type: assemblyai
  api_key: \${EARSHOT_TEST_KEY}
  url: \${EARSHOT_TEST_URL}
  params: { format_turns: true }
pipelines:
  me:
    label: me
    source: { type: file, path: tones.wav, loop: true }
    transcriber: *transcriber
    sinks:
      - { type: file, path: out/me.jsonl }
      - type: webhook
        url: \${EARSHOT_TEST_HOOK}
        secret: \${EARSHOT_TEST_WEBHOOK_SECRET}
      - type: plugin
        name: journal
        module: ./journal.mjs
        options:
          path: out/journal.jsonl
          room_code: \${EARSHOT_TEST_ROOM}
          channel: \${EARSHOT_TEST_CHANNEL_TOKEN}
  them:
    label: them
    source: { type: file, path: tones.wav, loop: true }
    transcriber: *transcriber
    sinks:
      - { type: file, path: ${themPath} }
`;
}

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((line) => line !== '');
}

async function everyFile(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('earshot run: a service with two pipelines, reloaded and stopped', function () {
  this.timeout(60000);
  let dir: string;
  let server: ScriptServer;
  let receiver: TestReceiver;
  let earshot: EarshotProcess;
  let first: Health & { httpStatus: number };
  let afterReload: Health;
  let metricsBefore: Map<string, number>;
  let metricsAfter: Map<string, number>;
  const healthTexts: string[] = [];
  const metricsTexts: string[] = [];
  let closedBeforeStop: string[];
  let exit: Exit;

  const streaming = (health: Health, name: string): boolean =>
    health.pipelines[name]?.state === 'running' && health.pipelines[name]?.transcriber === 'streaming' && health.pipelines[name]?.session_id !== undefined;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'earshot-service-'));
    server = await ScriptServer.start(API_KEY);
    receiver = new TestReceiver(WEBHOOK_SECRET);
    const hookPort = await receiver.listen();
    await writeToneWav(join(dir, 'tones.wav'));
    await writeFile(join(dir, 'journal.mjs'), JOURNAL_PLUGIN);
    await writeFile(join(dir, 'pipeline.yaml'), pipelineFile('out/them.jsonl'));
    earshot = EarshotProcess.run('pipeline.yaml', {
      cwd: dir,
      env: {
        EARSHOT_TEST_KEY: API_KEY,
        EARSHOT_TEST_URL: server.wsUrl,
        EARSHOT_TEST_HOOK: `http://127.0.0.1:${hookPort}/hook`,
        EARSHOT_TEST_WEBHOOK_SECRET: WEBHOOK_SECRET,
        EARSHOT_TEST_ROOM: ROOM_CODE,
        EARSHOT_TEST_CHANNEL_TOKEN: CHANNEL_TOKEN,
      },
    });
    const url = await earshot.httpUrl();
    const health = async () => {
      const report = await fetchHealth(url);
      healthTexts.push(JSON.stringify(report));
      return report;
    };
    const metrics = async () => {
      const { text } = await fetchText(`${url}/metrics`);
      metricsTexts.push(text);
      return scrape(url);
    };

    // Both pipelines streaming, and a final turn from each.
    await waitFor(async () => {
      first = await health();
      metricsBefore = await metrics();
      return (
        streaming(first, 'me') &&
        streaming(first, 'them') &&
        (sample(metricsBefore, 'earshot_turns_final_total', { pipeline: 'me' }) ?? 0) >= 1 &&
        (sample(metricsBefore, 'earshot_turns_final_total', { pipeline: 'them' }) ?? 0) >= 1
      );
    }, 'both pipelines to stream and deliver a final turn', 20000);

    // Change one pipeline (where its transcript goes) and reload.
    await writeFile(join(dir, 'pipeline.yaml'), pipelineFile('out/them-2.jsonl'));
    earshot.signal('SIGHUP');
    await earshot.waitForLog((r) => r.msg.startsWith('reload: '), 'the reload');
    const oldThem = await earshot.waitForLog((r) => r.pipeline === 'them' && r.msg === 'pipeline stopped', 'the changed pipeline to stop');
    await waitFor(async () => {
      afterReload = await health();
      metricsAfter = await metrics();
      return (
        streaming(afterReload, 'them') &&
        afterReload.pipelines.them?.session_id !== first.pipelines.them?.session_id &&
        // A final from the new run, counted on top of the old run's.
        (sample(metricsAfter, 'earshot_turns_final_total', { pipeline: 'them' }) ?? 0) > (oldThem.finals as number)
      );
    }, 'the changed pipeline to stream again and deliver a final turn', 20000);
    closedBeforeStop = server.closed.map((s) => s.id);

    earshot.signal('SIGTERM');
    exit = await earshot.exitWithin(30000);
  });

  after(async () => {
    earshot?.kill();
    await receiver?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const stopped = (pipeline: string): LogRecord[] => earshot.logs.filter((r) => r.pipeline === pipeline && r.msg === 'pipeline stopped');

  it('reports each pipeline on /healthz: running, streaming, with its label and session', () => {
    expect(first.httpStatus).to.equal(200);
    expect(first.status).to.equal('ok');
    for (const [name, label] of [['me', 'me'], ['them', 'them']] as const) {
      const pipeline = first.pipelines[name];
      expect(pipeline, name).to.include({ state: 'running', label, transcriber: 'streaming', capture: 'running' });
      expect(server.opened.map((s) => s.id)).to.include(pipeline?.session_id);
    }
  });

  it('serves the metrics by name, with figures that agree with each other', () => {
    for (const pipeline of ['me', 'them']) {
      const at = (name: string, labels: Record<string, string> = {}) => sample(metricsBefore, name, { pipeline, ...labels });
      expect(at('earshot_capture_frames_total'), pipeline).to.be.greaterThan(0);
      const sent = at('earshot_transport_frames_sent_total') ?? 0;
      expect(sent).to.be.greaterThan(0);
      // One latency per frame sent, reported in the same message.
      expect(at('earshot_frame_latency_seconds_count')).to.equal(sent);
      for (const stage of ['ring', 'device', 'backlog']) expect(at('earshot_frames_dropped_total', { stage }), stage).to.equal(0);
      expect(at('earshot_transcriber_sessions_total')).to.equal(1);
      expect(at('earshot_transcriber_reconnects_total')).to.equal(0);
      expect(at('earshot_transcriber_connected')).to.equal(1);
      expect(at('earshot_pipeline_up')).to.equal(1);
      expect(at('earshot_sink_errors_total', { sink: 'file#1' })).to.equal(0);
      expect(at('earshot_sink_queue_depth', { sink: 'file#1' })).to.be.a('number');
      // Partials reach the sink too (the file skips them), so at least the finals.
      expect(at('earshot_sink_events_total', { sink: 'file#1' })).to.be.at.least(at('earshot_turns_final_total') ?? 1);
    }
    expect(sample(metricsBefore, 'earshot_sink_events_total', { pipeline: 'me', sink: 'journal' })).to.be.greaterThan(0);
    expect(sample(metricsBefore, 'earshot_sink_events_total', { pipeline: 'me', sink: 'webhook#1' })).to.be.greaterThan(0);
  });

  it('SIGHUP restarts only the changed pipeline: the other keeps its capture and transcriber session', () => {
    const reload = earshot.logs.find((r) => r.msg.startsWith('reload: '));
    expect(reload).to.include({ msg: 'reload: restart them; keep me running' });
    expect(afterReload.pipelines.me?.session_id).to.equal(first.pipelines.me?.session_id);
    expect(afterReload.pipelines.me?.started_at).to.equal(first.pipelines.me?.started_at);
    expect(afterReload.pipelines.them?.started_at).to.not.equal(first.pipelines.them?.started_at);
    // Three sessions in all; until SIGTERM the server saw only the changed pipeline's first one end.
    expect(server.opened).to.have.length(3);
    expect(closedBeforeStop).to.deep.equal([first.pipelines.them?.session_id]);
  });

  it('keeps counters monotonic across the restart and counts the reload', () => {
    for (const [key, value] of metricsBefore) {
      if (!key.startsWith('earshot_') || !/_total\{/.test(key)) continue;
      expect(metricsAfter.get(key), key).to.be.at.least(value);
    }
    expect(sample(metricsAfter, 'earshot_transcriber_sessions_total', { pipeline: 'them' })).to.equal(2);
    expect(sample(metricsAfter, 'earshot_transcriber_sessions_total', { pipeline: 'me' })).to.equal(1);
    expect(sample(metricsAfter, 'earshot_config_reloads_total', { result: 'applied' })).to.equal(1);
  });

  it('SIGTERM ends every session with Terminate, flushes every sink and exits 0', async () => {
    expect(exit).to.deep.equal({ code: 0, signal: null });
    expect(server.closed).to.have.length(3);
    for (const session of server.closed) expect(session.terminationSent, session.id).to.equal(true);

    const [me] = stopped('me');
    const finals = me?.finals as number;
    expect(finals).to.be.greaterThan(0);
    expect(await lines(join(dir, 'out/me.jsonl'))).to.have.length(finals);
    expect(await lines(join(dir, 'out/journal.jsonl'))).to.have.length(finals);
    expect(receiver.processed.size).to.equal(finals);
    expect(receiver.requests.every((r) => r.signatureError === undefined)).to.equal(true);

    const them = stopped('them');
    expect(them).to.have.length(2);
    expect(await lines(join(dir, 'out/them.jsonl'))).to.have.length(them[0]?.finals as number);
    expect(await lines(join(dir, 'out/them-2.jsonl'))).to.have.length(them[1]?.finals as number);
    for (const file of ['me.jsonl', 'them.jsonl', 'them-2.jsonl']) {
      for (const line of await lines(join(dir, 'out', file))) expect(() => JSON.parse(line) as unknown, `${file}: ${line}`).to.not.throw();
    }
  });

  it('puts the pipeline and, once there is one, the session on the lines about a pipeline', () => {
    const meSession = first.pipelines.me?.session_id;
    const started = earshot.logs.findIndex((r) => r.pipeline === 'me' && r.session_id === meSession);
    expect(started).to.be.at.least(0);
    const later = earshot.logs.slice(started).filter((r) => r.pipeline === 'me' && r.msg !== 'pipeline stopped');
    expect(later.length).to.be.greaterThan(0);
    for (const record of later) expect(record.session_id, record.msg).to.be.a('string');
  });

  it('writes no secret anywhere: stdout, logs, files, metrics, health', async () => {
    // The secrets were in use: the server took the key, the receiver verified signatures, the plugin logged its options.
    expect(server.opened.length).to.be.greaterThan(0);
    expect(receiver.requests.length).to.be.greaterThan(0);
    const journal = earshot.logs.find((r) => r.msg === 'journal options');
    expect(journal?.options).to.deep.include({ room_code: '[redacted]', channel: '[redacted]' });

    const written: [string, string][] = [
      ['stdout', earshot.stdout],
      ['stderr', earshot.stderr],
      ...healthTexts.map((text, i): [string, string] => [`healthz #${i}`, text]),
      ...metricsTexts.map((text, i): [string, string] => [`metrics #${i}`, text]),
    ];
    for (const file of await everyFile(dir)) written.push([file, await readFile(file, 'latin1')]);
    for (const [where, text] of written) {
      for (const [what, secret] of Object.entries(SECRETS)) expect(text.includes(secret), `${what} in ${where}`).to.equal(false);
    }
  });
});
