/**
 * docs/plugins.md, taken at its word: its example plugin is saved where the
 * doc says, loaded by earshot the way a pipeline loads it, and its test
 * example runs with `node --test` as the doc tells the reader to.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPluginSink, PluginLoadError } from '../../src/sinks/plugin.js';
import { SinkActor } from '../../src/sinks/sink-actor.js';
import { docsExample } from '../support/docs-examples.js';
import { sinkContext, transcriptEvent } from '../support/sink-events.js';

describe('docs/plugins.md examples', function () {
  this.timeout(30000);
  let dir: string;
  let server: Server;
  let url: string;
  const answers: number[] = [];
  const posted: unknown[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-docs-'));
    await mkdir(join(dir, 'plugins'));
    await writeFile(join(dir, 'plugins', 'chat-sink.js'), await docsExample('plugins.md', 'js', 'export default'));
    await writeFile(join(dir, 'chat-sink.test.js'), await docsExample('plugins.md', 'js', 'node:test'));
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        posted.push(JSON.parse(body));
        const status = answers.shift() ?? 200;
        response.writeHead(status, status === 503 ? { 'retry-after': '0' } : {}).end();
      });
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((closed) => server.close(() => closed()));
    await rm(dir, { recursive: true, force: true });
  });

  it('the chat sink posts finished turns only, and retries the same turn after a 503', async () => {
    answers.push(503);
    const sink = await createPluginSink(
      { type: 'plugin', module: './plugins/chat-sink.js', options: { url }, queue_events: 10, queue_policy: 'drop_oldest' },
      sinkContext(dir, { label: 'them' }),
    );
    const actor = new SinkActor('chat', sink, 10, 'drop_oldest', sinkContext(dir).logger);
    await actor.start();
    actor.tell(transcriptEvent(0, { final: false, text: 'Ship it', label: 'them' }));
    actor.tell(transcriptEvent(1, { text: 'Ship it on Friday.', label: 'them' }));
    await actor.drain();
    expect(actor.counters).to.deep.equal({ written: 2, errors: 1, dropped: 0 });
    expect(posted).to.deep.equal([{ text: '*them:* Ship it on Friday.' }, { text: '*them:* Ship it on Friday.' }]);
  });

  it('the chat sink\'s schema rejects a bad url without echoing it (it is marked secret)', async () => {
    const error = await createPluginSink(
      { type: 'plugin', module: './plugins/chat-sink.js', options: { url: 'not a url', prefix: 1 }, queue_events: 10, queue_policy: 'drop_oldest' },
      sinkContext(dir),
    ).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(PluginLoadError);
    expect((error as PluginLoadError).problems).to.have.members(['options.url: must match format "uri"', 'options.prefix: must be string (got 1)']);
  });

  it('the test example passes with node --test', async () => {
    const result = await new Promise<{ code: number; stdout: string }>((done) => {
      execFile(process.execPath, ['--test', 'chat-sink.test.js'], { cwd: dir, timeout: 20000 }, (error, stdout) => {
        done({ code: error ? Number(error.code) : 0, stdout });
      });
    });
    expect(result.stdout).to.match(/^# pass 1$/m);
    expect(result.code, result.stdout).to.equal(0);
  });
});
