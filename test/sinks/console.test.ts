import { expect } from 'chai';
import pino from 'pino';
import type { ConsoleSinkConfig } from '../../src/config/schema.js';
import type { TranscriptEvent } from '../../src/model/transcript.js';
import { createConsoleSink, type ConsoleOutput } from '../../src/sinks/console.js';

const CLEAR_LINE = '\r\x1b[2K';

function event(text: string, final: boolean, extra: Partial<TranscriptEvent> = {}): TranscriptEvent {
  return {
    pipeline: 'system',
    session_id: 's',
    seq: 0,
    turn_order: 0,
    final,
    formatted: final,
    text,
    start_ms: 83_400,
    end_ms: 84_000,
    words: [],
    received_at: new Date().toISOString(),
    ...extra,
  };
}

function options(overrides: Partial<ConsoleSinkConfig> = {}): ConsoleSinkConfig {
  return { type: 'console', partials: 'auto', timestamps: false, labels: 'auto', color: false, queue_events: 100, queue_policy: 'drop_oldest', ...overrides };
}

function screen(isTTY: boolean, columns = 80): ConsoleOutput & { written: string[] } {
  const written: string[] = [];
  return { written, isTTY, columns, write: (text) => written.push(text) };
}

const context = { pipeline: 'system', name: 'console#1', logger: pino({ level: 'silent' }), baseDir: '.', stateDir: '.', pipelineCount: 1 };

describe('console sink', () => {
  it('on a terminal, rewrites the partial turn in place and gives each final its own line', async () => {
    const out = screen(true);
    const sink = createConsoleSink(options(), context, out);
    await sink.write(event('hello', false));
    await sink.write(event('hello wor', false));
    await sink.write(event('Hello, world.', true));
    expect(out.written).to.deep.equal([`${CLEAR_LINE}hello`, `${CLEAR_LINE}hello wor`, `${CLEAR_LINE}Hello, world.\n`]);
  });

  it('into a pipe or file, writes only finals, one per line, with no control characters', async () => {
    const out = screen(false);
    const sink = createConsoleSink(options(), context, out);
    await sink.write(event('hello', false));
    await sink.write(event('Hello, world.', true));
    expect(out.written.join('')).to.equal('Hello, world.\n');
  });

  it('labels lines when several pipelines share the console, and shows times on request', async () => {
    const out = screen(false);
    const sink = createConsoleSink(options({ timestamps: true }), { ...context, label: 'them', pipelineCount: 2 }, out);
    await sink.write(event('Hello.', true));
    expect(out.written.join('')).to.equal('[00:01:23.4] them: Hello.\n');
  });

  it('keeps an in-place line to one screen row', async () => {
    const out = screen(true, 20);
    const sink = createConsoleSink(options(), context, out);
    await sink.write(event('a partial turn far longer than the terminal is wide', false));
    const visible = (out.written[0] as string).replace(CLEAR_LINE, '');
    expect(visible.length).to.be.below(20);
    expect(visible.endsWith('is wide')).to.equal(true);
  });

  it('clears a partial left on screen when it stops', async () => {
    const out = screen(true);
    const sink = createConsoleSink(options(), context, out);
    await sink.write(event('unfinished', false));
    await sink.stop?.();
    expect(out.written.at(-1)).to.equal(CLEAR_LINE);
  });
});
