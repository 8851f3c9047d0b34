/**
 * Plugin sinks in a thread of their own (`isolation: thread`, the default):
 * real plugin files loaded in real worker threads. What crosses the thread
 * (errors with their types, log lines, the optional methods), a thread that
 * dies mid-run, a plugin that never answers stop(), and what a thread costs.
 */
import { expect } from 'chai';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { PluginSinkConfig } from '../../src/config/schema.js';
import { createPluginSink, PluginLoadError, PluginThreadError, PluginTimeoutError, type PluginTimeouts } from '../../src/sinks/plugin.js';
import { RetryableSinkError, type Sink } from '../../src/sinks/sink.js';
import { SinkActor } from '../../src/sinks/sink-actor.js';
import { sinkContext, transcriptEvent } from '../support/sink-events.js';

function pluginConfig(module: string, options: Record<string, unknown> = {}, isolation?: 'thread' | 'main'): PluginSinkConfig {
  return { type: 'plugin', module, options, queue_events: 100, queue_policy: 'drop_oldest', ...(isolation ? { isolation } : {}) };
}

/** A logger whose JSON lines are kept, carrying the fields the runner's sink logger carries. */
function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info', base: undefined }, stream).child({ pipeline: 'meeting', sink: 'notes' }), lines };
}

/** The threads of this process, as Linux counts them (a worker thread adds a few). */
function osThreads(): number {
  return Number(/^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
}

async function eventually(check: () => boolean, withinMs: number): Promise<boolean> {
  const until = performance.now() + withinMs;
  while (performance.now() < until) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

describe('plugin sinks in a thread of their own', function () {
  this.timeout(30000);
  let dir: string;
  let out: string;
  const sinks: Sink[] = [];

  async function load(module: string, options: Record<string, unknown> = {}, extra: { logger?: pino.Logger; timeouts?: PluginTimeouts; isolation?: 'thread' | 'main'; onSecrets?: (values: readonly string[]) => void } = {}): Promise<Sink> {
    const context = sinkContext(dir, extra.logger ? { logger: extra.logger } : {});
    const sink = await createPluginSink(pluginConfig(module, options, extra.isolation), context, extra.timeouts, extra.onSecrets);
    sinks.push(sink);
    return sink;
  }

  async function lines(): Promise<Record<string, unknown>[]> {
    return (await readFile(out, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-plugin-thread-'));
    out = join(dir, 'out.jsonl');
  });

  afterEach(async () => {
    for (const sink of sinks.splice(0)) await sink.stop?.().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('runs the plugin in a worker thread by default, and on the main thread with isolation: main', async () => {
    await writeFile(join(dir, 'where.mjs'), `
      import { appendFileSync } from 'node:fs';
      import { threadId } from 'node:worker_threads';
      export default (options) => ({ write(event) { appendFileSync(options.out, JSON.stringify({ seq: event.seq, text: event.text, words: event.words, threadId }) + '\\n'); } });`);
    const words = [{ text: 'Hello', start_ms: 0, end_ms: 300, confidence: 0.9 }];
    await (await load('./where.mjs', { out })).write(transcriptEvent(0, { text: 'Hello.', words }));
    await (await load('./where.mjs', { out }, { isolation: 'main' })).write(transcriptEvent(1));
    const [threaded, main] = await lines();
    expect(threaded).to.deep.include({ seq: 0, text: 'Hello.', words });
    expect(threaded?.threadId, 'thread mode: not the main thread').to.be.greaterThan(0);
    expect(main?.threadId, 'main mode').to.equal(0);
  });

  it('has the optional methods the plugin\'s sink has, and stop() always (it ends the thread)', async () => {
    await writeFile(join(dir, 'bare.mjs'), 'export default () => ({ write() {} });');
    await writeFile(join(dir, 'full.mjs'), 'export default () => ({ async start() {}, write() {}, async flush() {}, async stop() {} });');
    const bare = await load('./bare.mjs');
    expect(Object.keys(bare).sort()).to.deep.equal(['stop', 'write']);
    const full = await load('./full.mjs');
    expect(Object.keys(full).sort()).to.deep.equal(['flush', 'start', 'stop', 'write']);
  });

  describe('errors thrown in the thread', () => {
    beforeEach(async () => {
      await writeFile(join(dir, 'throws.mjs'), `
        class RetryableSinkError extends Error {
          constructor(message, retryAfterMs) { super(message); this.name = 'RetryableSinkError'; this.retryAfterMs = retryAfterMs; }
        }
        class QuotaError extends Error { name = 'QuotaError'; }
        import { appendFileSync } from 'node:fs';
        let calls = 0;
        export default (options) => ({
          write(event) {
            calls++;
            appendFileSync(options.out, JSON.stringify({ seq: event.seq, calls, at: Date.now() }) + '\\n');
            if (event.text === 'retry' && calls === 1) throw new RetryableSinkError('rate limited', options.retry_after_ms);
            if (event.text === 'quota') throw new QuotaError('over quota for today');
          },
        });`);
    });

    it('come back with their name and message; a RetryableSinkError keeps retryAfterMs', async () => {
      const sink = await load('./throws.mjs', { out, retry_after_ms: 1234 });
      const retryable = await Promise.resolve(sink.write(transcriptEvent(0, { text: 'retry' }))).catch((e: unknown) => e);
      expect(retryable).to.be.instanceOf(RetryableSinkError);
      expect(retryable).to.include({ message: 'rate limited', retryAfterMs: 1234 });
      const quota = await Promise.resolve(sink.write(transcriptEvent(1, { text: 'quota' }))).catch((e: unknown) => e);
      expect(quota).to.be.instanceOf(Error);
      expect(quota).to.include({ name: 'QuotaError', message: 'over quota for today' });
      expect((quota as Error).stack, 'the stack is the plugin\'s').to.contain('throws.mjs');
    });

    it('the sink actor honours retryAfterMs across the thread, and gives up a plain error after 3 attempts', async () => {
      const sink = await load('./throws.mjs', { out, retry_after_ms: 400 });
      const actor = new SinkActor('notes', sink, 10, 'drop_oldest', pino({ level: 'silent' }));
      await actor.start();
      actor.tell(transcriptEvent(0, { text: 'retry' }));
      actor.tell(transcriptEvent(1, { text: 'quota' }));
      await actor.drain();
      expect(actor.counters).to.deep.equal({ written: 1, errors: 4, dropped: 1 });
      const attempts = await lines();
      expect(attempts.map((a) => a.seq)).to.deep.equal([0, 0, 1, 1, 1]);
      const waited = (attempts[1]!.at as number) - (attempts[0]!.at as number);
      expect(waited, 'waited retryAfterMs before the second attempt').to.be.at.least(390);
    });
  });

  it('relays what the plugin logs through context.logger to the main logger, with the pipeline and sink fields, after hearing its secrets', async () => {
    await writeFile(join(dir, 'logs.mjs'), `export default {
      optionsSchema: { type: 'object', properties: { token: { type: 'string', 'x-secret': true } } },
      create(options, context) {
        context.logger.info({ phase: 'create' }, 'connecting');
        const child = context.logger.child({ room: 'standup' });
        return { write(event) { child.warn({ seq: event.seq }, 'slow answer from the chat room'); context.logger.debug('not shown at info'); } };
      },
    };`);
    const { logger, lines: logged } = capturingLogger();
    const heard: string[] = [];
    const sink = await load('./logs.mjs', { token: 'tok-secret-1234' }, { logger, onSecrets: (values) => heard.push(...values) });
    await sink.write(transcriptEvent(7));
    expect(heard).to.deep.equal(['tok-secret-1234']);
    expect(logged.map(({ level, msg, pipeline, sink: name, phase, room, seq }) => ({ level, msg, pipeline, sink: name, phase, room, seq }))).to.deep.equal([
      { level: 30, msg: 'connecting', pipeline: 'meeting', sink: 'notes', phase: 'create', room: undefined, seq: undefined },
      { level: 40, msg: 'slow answer from the chat room', pipeline: 'meeting', sink: 'notes', phase: undefined, room: 'standup', seq: 7 },
    ]);
  });

  describe('a thread that dies mid-run', () => {
    const ways: [string, string][] = [
      ['calls process.exit', 'process.exit(7);'],
      ['throws at top level, asynchronously', "setTimeout(() => { throw new Error('async boom'); }); return new Promise(() => {});"],
    ];
    for (const [how, crash] of ways) {
      it(`${how}: the write in flight fails and is retried, the thread is restarted (and started again), later events are written`, async () => {
        const marker = join(dir, 'crashed');
        await writeFile(join(dir, 'crashes.mjs'), `
          import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
          import { threadId } from 'node:worker_threads';
          export default (options) => ({
            async start() { appendFileSync(options.out, JSON.stringify({ started: threadId }) + '\\n'); },
            write(event) {
              if (event.seq === 2 && !existsSync(${JSON.stringify(marker)})) { writeFileSync(${JSON.stringify(marker)}, ''); ${crash} }
              appendFileSync(options.out, JSON.stringify({ seq: event.seq, threadId }) + '\\n');
            },
          });`);
        const { logger, lines: logged } = capturingLogger();
        const sink = await load('./crashes.mjs', { out }, { logger });
        const actor = new SinkActor('notes', sink, 10, 'drop_oldest', logger);
        await actor.start();
        for (let seq = 0; seq < 5; seq++) actor.tell(transcriptEvent(seq));
        await actor.drain();
        expect(actor.counters).to.deep.equal({ written: 5, errors: 1, dropped: 0 });
        const records = await lines();
        const started = records.filter((r) => 'started' in r).map((r) => r.started);
        expect(started, 'started in the first thread and again in its replacement').to.have.length(2);
        expect(started[0]).not.to.equal(started[1]);
        expect(records.filter((r) => 'seq' in r).map((r) => r.seq)).to.deep.equal([0, 1, 2, 3, 4]);
        const restart = logged.find((line) => typeof line.msg === 'string' && line.msg.includes('restarting'));
        expect(restart?.msg).to.match(/^pipeline meeting: sink notes: plugin "\.\/crashes\.mjs" \(its thread\) failed: .*its thread stopped: .*; restarting$/);
        const writeFailure = logged.find((line) => typeof line.msg === 'string' && line.msg.startsWith('write failed'));
        expect(writeFailure?.msg).to.contain('plugin "./crashes.mjs": its thread stopped');
      });
    }

    it('a plugin whose thread keeps dying is given up: writes fail at once, naming the plugin', async () => {
      await writeFile(join(dir, 'always.mjs'), 'export default () => ({ write() { process.exit(1); } });');
      const sink = await load('./always.mjs', {}, { logger: pino({ level: 'silent' }) });
      let error: unknown;
      for (let attempt = 0; attempt < 10 && !(error instanceof PluginThreadError && error.message.includes('given up')); attempt++) {
        error = await Promise.resolve(sink.write(transcriptEvent(attempt))).catch((e: unknown) => e);
      }
      expect(error).to.be.instanceOf(PluginThreadError);
      expect((error as Error).message).to.match(/^pipeline meeting: sink notes: plugin "\.\/always\.mjs": its thread keeps failing, given up: /);
    });
  });

  describe('bounds', () => {
    const quick: PluginTimeouts = { import: 100, create: 100, start: 300, flush: 300, stop: 300 };

    it('stop() of a plugin that never answers (its thread busy forever) rejects within the bound, and its thread is terminated', async () => {
      await writeFile(join(dir, 'stuck.mjs'), 'export default () => ({ write() {}, stop() { for (;;); } });');
      const before = osThreads();
      const sink = await createPluginSink(pluginConfig('./stuck.mjs'), sinkContext(dir), quick);
      expect(osThreads()).to.be.greaterThan(before);
      const started = performance.now();
      const error = await sink.stop!().catch((e: unknown) => e);
      const tookMs = performance.now() - started;
      expect(error).to.be.instanceOf(PluginTimeoutError);
      expect((error as Error).message).to.equal('pipeline meeting: sink notes: plugin "./stuck.mjs": stop() did not settle within 300 ms');
      expect(tookMs).to.be.lessThan(5000);
      expect(await eventually(() => osThreads() <= before, 3000), `threads back to ${before} (now ${osThreads()})`).to.equal(true);
    });

    it('a plugin whose thread dies or blocks while loading is a PluginLoadError', async () => {
      await writeFile(join(dir, 'exits.mjs'), 'process.exit(3);\nexport default () => ({ write() {} });');
      const exited = await createPluginSink(pluginConfig('./exits.mjs'), sinkContext(dir), quick).catch((e: unknown) => e);
      expect(exited).to.be.instanceOf(PluginLoadError);
      expect(exited).to.include({ problem: 'import_failed', message: 'pipeline meeting: sink notes: plugin "./exits.mjs" failed to load: its thread stopped: worker exited with code: 3' });
      await writeFile(join(dir, 'spins.mjs'), 'export default () => { for (;;); };');
      const spun = await createPluginSink(pluginConfig('./spins.mjs'), sinkContext(dir), quick).catch((e: unknown) => e);
      expect(spun).to.be.instanceOf(PluginLoadError);
      expect(spun).to.include({ problem: 'create_failed' });
      expect((spun as Error).message).to.match(/^pipeline meeting: sink notes: plugin "\.\/spins\.mjs" failed to create its sink: its thread did not answer within \d+ ms, and was stopped$/);
    });
  });

  it('what a plugin thread costs: memory and start time (reported)', async () => {
    await writeFile(join(dir, 'small.mjs'), 'export default () => ({ write() {} });');
    const count = 4;
    // One first, so earshot's own modules are loaded and counted once.
    await (await load('./small.mjs')).write(transcriptEvent(0));
    const rssBefore = process.memoryUsage().rss;
    const startMs: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const sink = await load('./small.mjs');
      await sink.write(transcriptEvent(0));
      startMs.push(performance.now() - started);
    }
    const perThreadMb = (process.memoryUsage().rss - rssBefore) / count / 2 ** 20;
    const sorted = [...startMs].sort((a, b) => a - b);
    console.log(`      per added plugin thread: RSS +${perThreadMb.toFixed(1)} MB; load and first write ${sorted.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    expect(perThreadMb).to.be.greaterThan(0);
  });
});
