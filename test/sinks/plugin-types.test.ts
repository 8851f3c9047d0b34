/**
 * The types plugin authors get from `import type { SinkPlugin } from 'earshot'`,
 * checked the way an outside project sees them: a temp project with earshot
 * in its node_modules (a link to this checkout, so its package.json `exports`
 * and `types` are what resolve), compiled by the real tsc. The compiled
 * TypeScript plugin then runs through the loader, retrying with earshot's
 * RetryableSinkError against a real HTTP server.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPluginSink } from '../../src/sinks/plugin.js';
import { SinkActor } from '../../src/sinks/sink-actor.js';
import { docsExample } from '../support/docs-examples.js';
import { sinkContext, transcriptEvent } from '../support/sink-events.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const CHAT_PLUGIN = `import { RetryableSinkError, type SinkPlugin, type TranscriptEvent } from 'earshot';

interface ChatOptions {
  url: string;
  channel: string;
}

/** Posts each finished turn to a chat webhook. */
const chat: SinkPlugin<ChatOptions> = {
  optionsSchema: {
    type: 'object',
    required: ['url', 'channel'],
    properties: { url: { type: 'string', format: 'uri' }, channel: { type: 'string' } },
  },
  create(options, context) {
    return {
      async write(event: TranscriptEvent) {
        if (!event.final) return;
        const response = await fetch(options.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ channel: options.channel, text: (event.label ?? context.pipeline) + ': ' + event.text }),
        });
        if (response.status === 429 || response.status >= 500) {
          const retryAfterMs = Number(response.headers.get('retry-after') ?? 1) * 1000;
          throw new RetryableSinkError('chat answered ' + response.status, retryAfterMs);
        }
        if (!response.ok) throw new Error('chat refused the message: ' + response.status);
      },
    };
  },
};

export default chat;
`;

/** Each line marked `// TSnnnn` must fail with that code, and nothing else may fail. */
const MISTAKES = `import type { SinkPlugin } from 'earshot';

interface Options {
  room: string;
}

export const misspeltField: SinkPlugin<Options> = {
  create: () => ({ write: (event) => console.log(event.txt) }), // TS2551
};

export const misspeltOption: SinkPlugin<Options> = {
  create: (options) => ({ write: () => console.log(options.rooms) }), // TS2551
};

export const noWrite: SinkPlugin<Options> = {
  create: () => ({ flush: () => Promise.resolve() }), // TS2322
};

export const syncStop: SinkPlugin<Options> = {
  create: () => ({ write() {}, stop: () => 'done' }), // TS2322
};
`;

interface Diagnostic {
  file: string;
  line: number;
  code: string;
  text: string;
}

function runTsc(project: string): Promise<Diagnostic[]> {
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: project, timeout: 50000 }, (_error, stdout) => {
      // Errors about the project itself (no file) count too, with file ''.
      const diagnostics = [...stdout.matchAll(/^(?:(\S+)\((\d+),\d+\): )?error (TS\d+): (.*)$/gm)].map((m) => ({
        file: m[1] ?? '',
        line: Number(m[2] ?? 0),
        code: m[3] as string,
        text: m[4] as string,
      }));
      resolvePromise(diagnostics);
    });
  });
}

describe('plugin types for authors', function () {
  this.timeout(60000);
  let dir: string;
  let diagnostics: Diagnostic[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'earshot-plugin-project-'));
    await mkdir(join(dir, 'node_modules'));
    await symlink(repoRoot, join(dir, 'node_modules', 'earshot'), 'dir');
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'my-sinks', type: 'module', private: true }));
    await writeFile(join(dir, 'chat-sink.ts'), CHAT_PLUGIN);
    await writeFile(join(dir, 'mistakes.ts'), MISTAKES);
    await copyFile(join(repoRoot, 'examples/plugins/meeting-notes.js'), join(dir, 'meeting-notes.js'));
    await writeFile(join(dir, 'docs-chat-sink.js'), await docsExample('plugins.md', 'js', 'export default'));
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        allowJs: true,
        checkJs: true,
        outDir: 'out',
        skipLibCheck: true,
        typeRoots: [join(repoRoot, 'node_modules/@types')],
        types: ['node'],
      },
      files: ['chat-sink.ts', 'mistakes.ts', 'meeting-notes.js', 'docs-chat-sink.js'],
    }));
    diagnostics = await runTsc(dir);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a TypeScript plugin compiles against `import { RetryableSinkError, type SinkPlugin } from "earshot"`', () => {
    expect(diagnostics.filter((d) => d.file === 'chat-sink.ts' || d.file === '')).to.deep.equal([]);
  });

  it('the example JavaScript plugins (examples/ and docs/plugins.md) pass tsc --checkJs against the same types', () => {
    expect(diagnostics.filter((d) => d.file.endsWith('.js') || d.file === '')).to.deep.equal([]);
  });

  it('mistakes in a plugin are type errors: a misspelt event field or option, a sink without write, a stop that returns no promise', () => {
    const expected = MISTAKES.split('\n').flatMap((text, index) => {
      const marker = /\/\/ (TS\d+)$/.exec(text);
      return marker ? [`${index + 1} ${marker[1]}`] : [];
    });
    const found = diagnostics.filter((d) => d.file === 'mistakes.ts').map((d) => `${d.line} ${d.code}`);
    expect(found).to.deep.equal(expected);
  });

  describe('the compiled TypeScript plugin, loaded as a pipeline would', () => {
    let server: Server;
    const requests: { at: number; body: string }[] = [];

    before(async () => {
      server = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          requests.push({ at: performance.now(), body });
          if (requests.length === 1) response.writeHead(429, { 'retry-after': '1' }).end();
          else response.writeHead(204).end();
        });
      });
      await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    });

    after(async () => {
      server.closeAllConnections();
      await new Promise<void>((closed) => server.close(() => closed()));
    });

    it('posts, and after a 429 retries the same event once Retry-After has passed', async () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const sink = await createPluginSink(
        { type: 'plugin', module: './out/chat-sink.js', options: { url, channel: '#standup' }, queue_events: 10, queue_policy: 'drop_oldest' },
        sinkContext(dir),
      );
      const actor = new SinkActor('chat', sink, 10, 'drop_oldest', sinkContext(dir).logger);
      await actor.start();
      actor.tell(transcriptEvent(0, { text: 'Ship it on Friday.', label: 'them' }));
      await actor.drain();
      expect(actor.counters).to.deep.equal({ written: 1, errors: 1, dropped: 0 });
      expect(requests.map((r) => JSON.parse(r.body) as unknown)).to.deep.equal([
        { channel: '#standup', text: 'them: Ship it on Friday.' },
        { channel: '#standup', text: 'them: Ship it on Friday.' },
      ]);
      expect(requests[1]!.at - requests[0]!.at, 'waited for Retry-After').to.be.at.least(950);
    });
  });
});
