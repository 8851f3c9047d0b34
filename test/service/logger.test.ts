/** The service logger: secrets scrubbed wherever they appear, the pipeline's session on its lines, the level changeable while running. */
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger, SecretScrubber } from '../../src/service/logger.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join(''), lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('service logger', () => {
  it('scrubs secret values from messages, fields, errors and nested objects, including ones added later', () => {
    const out = capture();
    const secrets = new SecretScrubber(['sk-live-1234567890']);
    const logger = createLogger({ level: 'info', format: 'json', secrets, destination: out.stream });
    logger.info({ url: 'wss://x/v3/ws?token=sk-live-1234567890' }, 'connecting with sk-live-1234567890');
    logger.error({ err: new Error('refused key sk-live-1234567890') }, 'failed');
    secrets.add(['room-"quoted"-code']);
    logger.info({ options: { room: 'room-"quoted"-code' } }, 'plugin options');
    expect(out.text()).to.not.include('sk-live-1234567890');
    expect(out.text()).to.not.include('quoted');
    const [connecting, failed, options] = out.lines();
    expect(connecting?.msg).to.equal('connecting with [redacted]');
    expect((failed?.err as { message: string }).message).to.equal('refused key [redacted]');
    expect(options?.options).to.deep.equal({ room: '[redacted]' });
  });

  it('leaves values too short to be secrets alone (they would scrub ordinary words)', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', format: 'json', secrets: new SecretScrubber(['on']), destination: out.stream });
    logger.info('connection on');
    expect(out.lines()[0]?.msg).to.equal('connection on');
  });

  it("adds the pipeline's current session to its lines, from a field or a child's binding", () => {
    const out = capture();
    const sessions = new Map<string, string>();
    const logger = createLogger({ level: 'info', format: 'json', secrets: new SecretScrubber(), destination: out.stream, sessionOf: (p) => sessions.get(p) });
    const me = logger.child({ pipeline: 'me' }).child({ sink: 'file#1' });
    me.info('before any session');
    sessions.set('me', 'sess-1');
    me.info('after');
    logger.info({ pipeline: 'me' }, 'relayed');
    logger.info({ pipeline: 'me', session_id: 'sess-0' }, 'about an older session');
    logger.info('about the service');
    const lines = out.lines();
    expect(lines.map((l) => l.session_id)).to.deep.equal([undefined, 'sess-1', 'sess-1', 'sess-0', undefined]);
  });

  it('applies a new level to loggers made before the change (what a reload does)', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', format: 'json', secrets: new SecretScrubber(), destination: out.stream });
    const child = logger.child({ pipeline: 'me' });
    child.debug('hidden');
    logger.level = 'debug';
    child.debug('shown');
    logger.level = 'warn';
    child.info('hidden again');
    expect(out.lines().map((l) => l.msg)).to.deep.equal(['shown']);
  });
});
