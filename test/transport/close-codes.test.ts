/**
 * Done-when 2: every close code of the reference (and of CLOSE_CODES), through
 * the real pipeline. Permanent ones stop the pipeline at once with a message
 * naming the code and the reason, after one connection, and the service exits
 * non-zero; transient ones reconnect and the transcript carries on complete.
 * Each case has its own `earshot serve`; all cases of a kind run side by side
 * as pipelines of one service.
 */
import { expect } from 'chai';
import { CLOSE_CODES, REASONS } from '../../src/transport/protocol.js';
import { ExitCode } from '../../src/service/exit-codes.js';
import { parseFault, type ServerFault } from '../../src/serve/faults.js';
import type { StreamingServerOptions } from '../../src/serve/server.js';
import { V3TestClient } from '../support/v3-test-client.js';
import { expectedTurns, runPipeline, startWatchedServer, toneAudioFor, toneScript, withTempDir, type PipelineSpec, type WatchedServer } from './harness.js';

interface Case {
  name: string;
  code: number;
  /** The reason the server gives (in its Error frame and close). */
  reason: string;
  /** How the server is made to close: after Begin by default. */
  server?: Partial<StreamingServerOptions>;
  fault?: ServerFault;
  spec?: Partial<PipelineSpec>;
  /** Query text added to the URL. */
  query?: string;
}

const closeAfterBegin = (code: number, reason: string, ms: number, sessions?: number[]): ServerFault => ({
  ...parseFault(`close:${ms}:${code}${reason === '' ? '' : `:${reason}`}`),
  ...(sessions ? { sessions } : {}),
});

const PERMANENT: Case[] = [
  { name: 'p1008-key', code: 1008, reason: REASONS.invalidAuth, server: { apiKeys: ['the-right-key'] }, spec: { apiKey: 'a-wrong-key' } },
  { name: 'p1008-token', code: 1008, reason: REASONS.invalidToken, spec: { apiKey: null, transcriber: 'token: not-a-real-token' } },
  { name: 'p1008-missing', code: 1008, reason: REASONS.missingAuth },
  { name: 'p1008-account', code: 1008, reason: 'Unauthorized Connection: Account balance is negative' },
  { name: 'p3006-type', code: 3006, reason: 'Invalid Message Type: Hello' },
  { name: 'p3006-json', code: 3006, reason: 'Invalid JSON: {"type":' },
  { name: 'p3006-param', code: 3006, reason: 'Input Validation Error: earshot_fault: invalid fault "explode"', query: 'earshot_fault=explode' },
  { name: 'p3007-duration', code: 3007, reason: 'Input duration violation: 20 ms. Expected between 50 and 1000 ms' },
  { name: 'p4000', code: 4000, reason: 'Sample rate must be a positive integer' },
  { name: 'p4001', code: 4001, reason: 'Not Authorized' },
  { name: 'p4002', code: 4002, reason: 'Insufficient Funds' },
  { name: 'p4003', code: 4003, reason: '' },
  { name: 'p4032', code: 4032, reason: 'Audio too short' },
  { name: 'p4033', code: 4033, reason: 'Audio too long' },
  { name: 'p4034', code: 4034, reason: 'Audio too small to transcode' },
  { name: 'p4101', code: 4101, reason: 'Bad schema' },
  { name: 'p4999', code: 4999, reason: 'Something new' },
];

const TRANSIENT: Case[] = [
  { name: 't1000', code: 1000, reason: '' },
  { name: 't1001', code: 1001, reason: 'Going away' },
  { name: 't1006', code: 1006, reason: '', fault: { kind: 'drop', afterMs: 1500, sessions: [0] } },
  { name: 't1008-busy', code: 1008, reason: REASONS.tooManySessions },
  { name: 't1011', code: 1011, reason: 'Internal error' },
  { name: 't1012', code: 1012, reason: 'Service restart' },
  { name: 't1013', code: 1013, reason: 'Try again later' },
  { name: 't3005', code: 3005, reason: REASONS.serverError },
  { name: 't3007-rate', code: 3007, reason: 'Audio Transmission Rate Exceeded: Received 12.5 sec. audio in 2.1 sec' },
  { name: 't3008', code: 3008, reason: REASONS.sessionExpired },
  { name: 't3009', code: 3009, reason: REASONS.tooManySessions },
  { name: 't3009-before-begin', code: 3009, reason: REASONS.tooManySessions, server: { limits: { maxConcurrentSessions: 1 } } },
  { name: 't4004', code: 4004, reason: 'Session not found' },
  { name: 't4008', code: 4008, reason: 'Session Expired' },
  { name: 't4010', code: 4010, reason: 'Session is closed' },
  { name: 't4029', code: 4029, reason: 'Client sent audio too fast' },
  { name: 't4030', code: 4030, reason: 'Session is handled by another websocket' },
  { name: 't4031', code: 4031, reason: 'Session idle for too long' },
  { name: 't4102', code: 4102, reason: 'Too many streams' },
  { name: 't4103', code: 4103, reason: 'This session has been reconnected' },
  { name: 't3999', code: 3999, reason: 'Something new and temporary' },
  // Not close codes, but the other ways a session start or end can hang: both bounded, both recovered from.
  {
    name: 't-slow-begin',
    code: 1006,
    reason: '',
    fault: { kind: 'delay-begin', ms: 3000, sessions: [0] },
    spec: { transcriber: 'params: { format_turns: true }\nconnect_timeout_ms: 1000\nreconnect: { max_attempts: 10, initial_delay_ms: 100, max_delay_ms: 800 }' },
  },
  {
    name: 't-ignore-terminate',
    code: 1006,
    reason: '',
    server: { faults: [{ kind: 'drop', afterMs: 1500, sessions: [0] }, { kind: 'ignore-terminate' }] },
    spec: { transcriber: 'params: { format_turns: true }\ntermination_timeout_ms: 1500\nreconnect: { max_attempts: 10, initial_delay_ms: 100, max_delay_ms: 800 }' },
  },
];

async function startCaseServer(script: ReturnType<typeof toneScript>, c: Case, transient: boolean): Promise<WatchedServer> {
  const byServer = c.server !== undefined || c.query !== undefined || c.spec?.apiKey === null;
  const fault = c.fault ?? (byServer ? undefined : closeAfterBegin(c.code, c.reason, transient ? 1500 : 400, transient ? [0] : undefined));
  return startWatchedServer(script, { ...(fault ? { faults: [fault] } : {}), ...c.server });
}

function spec(c: Case, server: WatchedServer): PipelineSpec {
  const url = c.query ? `${server.server.url}?${c.query}` : server.server.url;
  return { name: c.name, url, transcriber: 'params: { format_turns: true }\nreconnect: { max_attempts: 10, initial_delay_ms: 100, max_delay_ms: 800 }', ...c.spec };
}

describe('transport: close codes through the real pipeline', function () {
  this.timeout(60000);
  const script = toneScript(3);
  const audio = toneAudioFor(script);

  it('covers every code the client knows', () => {
    const tested = new Set([...PERMANENT, ...TRANSIENT].map((c) => c.code));
    for (const code of Object.keys(CLOSE_CODES).map(Number)) expect(tested.has(code), `close code ${code} has a case`).to.equal(true);
    for (const c of PERMANENT) expect(CLOSE_CODES[c.code]?.permanent ?? true, `${c.name}`).to.satisfy((p: boolean) => p || [1008, 3007].includes(c.code));
  });

  it('permanent codes stop the pipeline after one connection, naming the code and the reason; the service exits non-zero', async () => {
    const servers = await Promise.all(PERMANENT.map((c) => startCaseServer(script, c, false)));
    try {
      const run = await withTempDir('earshot-permanent-', (dir) =>
        runPipeline({ dir, audio, pipelines: PERMANENT.map((c, i) => spec(c, servers[i]!)) }),
      );
      expect(run.exitCode).to.equal(ExitCode.pipelineFailed);
      PERMANENT.forEach((c, i) => {
        const result = run.pipelines[c.name]!;
        const server = servers[i]!;
        expect(result.state, c.name).to.equal('failed');
        expect(result.failure, c.name).to.include(`close code ${c.code}`);
        expect(result.failure, c.name).to.include(c.reason === '' ? CLOSE_CODES[c.code]!.meaning : c.reason);
        expect(result.failure, c.name).to.include('not retrying');
        expect(server.sessions.length, `${c.name}: connections that reached a session`).to.be.at.most(1);
        expect(result.stats?.reconnects ?? 0, c.name).to.equal(0);
        expect(result.events.filter((e) => e.final), c.name).to.deep.equal([]);
      });
      const errors = run.logs.filter((r) => (r.level as number) >= 50).map((r) => String(r.msg));
      for (const c of PERMANENT) expect(errors.some((m) => m.startsWith('pipeline failed') && m.includes(`close code ${c.code}`)), c.name).to.equal(true);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });

  it('a temporary token opens one session: after a drop the pipeline stops and says to give api_key', async () => {
    const server = await startWatchedServer(script, { faults: [{ kind: 'drop', afterMs: 800 }] });
    try {
      const response = await fetch(`${server.server.url.replace('ws://', 'http://').replace('/v3/ws', '/v3/token')}?expires_in_seconds=60`, { headers: { Authorization: 'test-key' } });
      const { token } = (await response.json()) as { token: string };
      const run = await withTempDir('earshot-token-', (dir) =>
        runPipeline({ dir, audio, pipelines: [{ name: 'meeting', url: server.server.url, apiKey: null, transcriber: `token: ${token}` }] }),
      );
      expect(run.exitCode).to.equal(ExitCode.pipelineFailed);
      expect(run.failure).to.match(/close code 1008 "Unauthorized Connection: Invalid or expired temporary token".*A temporary token opens one session only.*give api_key/);
      expect(server.sessions.length).to.equal(1);
      expect(JSON.stringify(run.logs)).to.not.include(token);
    } finally {
      await server.close();
    }
  });

  it('transient codes reconnect and every turn still arrives once, in order; the service exits 0', async () => {
    const servers = await Promise.all(TRANSIENT.map((c) => startCaseServer(script, c, true)));
    // The concurrency case: another client holds the only session for the first 2.5 s.
    const busy = TRANSIENT.findIndex((c) => c.name === 't3009-before-begin');
    const hog = await V3TestClient.begin(servers[busy]!.server.url);
    const release = setTimeout(() => hog.close(), 2500);
    const rejected: number[] = [];
    servers[busy]!.server.on('connection-rejected', (info) => rejected.push(info.code));
    try {
      const run = await withTempDir('earshot-transient-', (dir) =>
        runPipeline({ dir, audio, pipelines: TRANSIENT.map((c, i) => spec(c, servers[i]!)) }),
      );
      expect(run.exitCode, JSON.stringify(Object.values(run.pipelines).map((p) => p.failure).filter(Boolean))).to.equal(ExitCode.ok);
      TRANSIENT.forEach((c, i) => {
        const result = run.pipelines[c.name]!;
        const server = servers[i]!;
        expect(result.state, c.name).to.equal('stopped');
        expect(result.events.filter((e) => e.final).map((e) => e.text), c.name).to.deep.equal(expectedTurns(audio).map((t) => t.text));
        if (c.name === 't3009-before-begin') {
          expect(rejected.length, 'refused while the other client held the session').to.be.at.least(1);
          expect(rejected.every((code) => code === 3009)).to.equal(true);
        } else {
          expect(server.sessions.length, `${c.name}: sessions`).to.be.at.least(2);
          expect(server.sessions[0]?.closed?.code, c.name).to.equal(c.code);
          // A Begin that never came is a failed connection attempt, retried; the others ended an open session.
          if (c.name === 't-slow-begin') expect(run.logs.some((r) => r.pipeline === c.name && String(r.msg).startsWith('transcriber connection failed ('))).to.equal(true);
          else expect(result.stats?.reconnects, c.name).to.be.at.least(1);
        }
      });
      const ignored = servers[TRANSIENT.findIndex((c) => c.name === 't-ignore-terminate')]!.sessions;
      expect(ignored[ignored.length - 1]?.closed, 'Terminate ignored: the client closed after its timeout').to.include({ initiator: 'client', terminationSent: false });
      expect(run.logs.some((r) => r.pipeline === 't-ignore-terminate' && String(r.msg).startsWith('no Termination from the transcriber'))).to.equal(true);
      const rate = run.pipelines['t3007-rate']!.stats!;
      expect(rate.rateLimited).to.equal(1);
      expect(rate.lookaheadMs, 'learned from "12.5 sec. audio in 2.1 sec"').to.equal(Math.floor((10400 - 1000) * 0.8));
    } finally {
      clearTimeout(release);
      hog.close();
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});
