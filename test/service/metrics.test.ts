/**
 * /metrics when things go wrong, as an operator would watch it: the
 * transcriber drops the connection (a reconnect), the next
 * session is slow to begin while the backlog holds only one second (frames
 * dropped at the backlog stage), and a sink fails once and then writes
 * slowly (an error counted, nothing given up, its queue visibly filling).
 */
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFault } from '../../src/serve/faults.js';
import { startStreamingServer, type SessionInfo, type StreamingServer } from '../../src/serve/server.js';
import { createScriptEngine } from '../../src/serve/engines/script.js';
import { SCRIPT } from '../serve/helpers.js';
import { EarshotProcess, fetchHealth, sample, scrape, waitFor, writeToneWav } from './harness.js';

const API_KEY = 'metrics-test-key-0123456789';

/** Fails its first write; then takes 400 ms per event, so partials queue up behind it. */
const SLOW_PLUGIN = `let calls = 0;
export default () => ({
  async write() {
    calls++;
    if (calls === 1) throw new Error('first write fails');
    await new Promise((resolve) => setTimeout(resolve, 400));
  },
});
`;

describe('earshot run: metrics through a reconnect, a slow start and a failing sink', function () {
  this.timeout(60000);
  let dir: string;
  let server: StreamingServer;
  let earshot: EarshotProcess;
  const opened: SessionInfo[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-metrics-'));
    server = await startStreamingServer({
      engine: createScriptEngine(SCRIPT),
      apiKeys: [API_KEY],
      closeTimeoutMs: 1000,
      // The first session drops after 2.5 s; the second waits 3 s before Begin.
      faults: [parseFault('drop:2500@0'), parseFault('delay-begin:3000@1')],
    });
    server.on('session-opened', (info) => opened.push(info));
    await writeToneWav(join(dir, 'tones.wav'));
    await writeFile(join(dir, 'slow.mjs'), SLOW_PLUGIN);
    await writeFile(join(dir, 'pipeline.yaml'), `version: 1
service: { http: { port: 0 }, log: { format: json } }
pipelines:
  meeting:
    source: { type: file, path: tones.wav, loop: true }
    transcriber:
      type: assemblyai
      api_key: \${EARSHOT_TEST_KEY}
      url: ws://127.0.0.1:${server.port}/v3/ws
      buffer_seconds: 1
      reconnect: { initial_delay_ms: 100, max_delay_ms: 200 }
    sinks:
      - { type: plugin, name: slow, module: ./slow.mjs }
`);
    earshot = EarshotProcess.run('pipeline.yaml', { cwd: dir, env: { EARSHOT_TEST_KEY: API_KEY } });
  });

  after(async () => {
    earshot?.kill();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('counts the reconnect, the backlog drops and the sink error, and shows the queue', async () => {
    const url = await earshot.httpUrl();
    const at = (m: Map<string, number>, name: string, labels: Record<string, string> = {}) => sample(m, name, { pipeline: 'meeting', ...labels }) ?? 0;
    let deepestQueue = 0;
    let sawDegraded = false;
    let metrics = new Map<string, number>();
    await waitFor(async () => {
      metrics = await scrape(url);
      deepestQueue = Math.max(deepestQueue, at(metrics, 'earshot_sink_queue_depth', { sink: 'slow' }));
      const health = await fetchHealth(url);
      if (health.status === 'degraded' && health.pipelines.meeting?.transcriber !== 'streaming') sawDegraded = true;
      return at(metrics, 'earshot_transcriber_sessions_total') === 2 && at(metrics, 'earshot_turns_final_total') >= 2 && deepestQueue > 0;
    }, 'a second session that delivers turns', 30000);

    expect(opened).to.have.length(2);
    expect(at(metrics, 'earshot_transcriber_reconnects_total')).to.equal(1);
    // Three seconds without a session, one second of backlog: about 40 frames of 50 ms lost, and said where.
    // (The outage also includes the reconnect itself, which a loaded machine stretches by a second or two.)
    expect(at(metrics, 'earshot_frames_dropped_total', { stage: 'backlog' })).to.be.within(20, 120);
    expect(at(metrics, 'earshot_frames_dropped_total', { stage: 'ring' })).to.equal(0);
    expect(at(metrics, 'earshot_sink_errors_total', { sink: 'slow' })).to.equal(1);
    expect(at(metrics, 'earshot_sink_dropped_events_total', { sink: 'slow' })).to.equal(0);
    expect(deepestQueue).to.be.greaterThan(0);
    expect(sawDegraded, '/healthz said degraded while the transcriber was away').to.equal(true);

    earshot.signal('SIGTERM');
    expect((await earshot.exitWithin(30000)).code).to.equal(0);
  });
});
