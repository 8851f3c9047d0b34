/**
 * `earshot serve`: a local emulator of AssemblyAI's Universal-Streaming v3 API
 * (WebSocket /v3/ws, temporary tokens at GET /v3/token) with limits and fault
 * injection, for offline use and for tests of streaming clients.
 *
 * Order of checks on a new connection, each failure an Error frame and then a
 * close with its code, and never a Begin:
 *   fault parameter (3006) -> auth (1008) -> connection parameters (3006, 4000)
 *   -> concurrency (3009) -> Begin.
 *
 * Decisions where the reference is silent (each marked where it is made):
 * - Auth fails after the WebSocket upgrade and before Begin: SDK users report
 *   an immediate close with 1008 while connecting (assemblyai-node-sdk #97).
 * - inactivity_timeout ends an idle session (no audio, no message) as if the
 *   client had sent Terminate: pending turns, Termination, close 1000.
 * - Heartbeat every heartbeatIntervalMs (1000) when session_heartbeat is on;
 *   SpeechStarted only for Universal-3 Pro models (docs); Silence, with
 *   acknowledge_silence, reports the silence before each turn.
 * - Per-connection faults ride in the emulator-only `earshot_fault` query
 *   parameter (see faults.ts); the real service would refuse that name.
 * - Termination's durations are seconds with millisecond precision.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EngineFactory } from './engine.js';
import {
  drawInRange,
  formatFault,
  isSendableCloseCode,
  parseFault,
  planFaults,
  seededRandom,
  type Fault,
  type ServerFault,
} from './faults.js';
import { parseConnectionParams } from './params.js';
import {
  StreamingSession,
  closeReasonFor,
  sendErrorAndClose,
  type SessionClosedInfo,
  type SessionInfo,
  type SessionLimits,
} from './session.js';
import { TokenStore, parseTokenRequest } from './tokens.js';
import { CloseCode, MAX_SESSION_SECONDS, REASONS } from '../transport/protocol.js';

export type { SessionClosedInfo, SessionInfo, SessionState, CloseInitiator } from './session.js';

/** The emulator's own query parameter for per-connection faults (see faults.ts). */
export const FAULT_QUERY_PARAM = 'earshot_fault';
export const STREAMING_PATH = '/v3/ws';
export const TOKEN_PATH = '/v3/token';

export interface StreamingServerLimits {
  /** Default 10800 (3 h). A temporary token may lower it per session. */
  maxSessionSeconds?: number;
  /** Default: unlimited. */
  maxConcurrentSessions?: number;
  /**
   * How far the audio received may run ahead of wall-clock session time before
   * the session is closed with 3007. Default 300 (an empirical report on the
   * real service); set it small to test a client's pacing.
   */
  lookaheadSeconds?: number;
}

export interface StreamingServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  /** PEM certificate and key: the server speaks wss:// and https://. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  engine: EngineFactory;
  /** Accepted keys; absent: any non-empty key. */
  apiKeys?: readonly string[];
  limits?: StreamingServerLimits;
  faults?: readonly ServerFault[];
  /** Heartbeat period when a session asks for session_heartbeat (unverified; default 1000). */
  heartbeatIntervalMs?: number;
  /** Bound on each close handshake and on close() (default 2000). */
  closeTimeoutMs?: number;
  /** Bound on engine.finish() after Terminate; past it the session ends with 3005 (default 4000). */
  finishTimeoutMs?: number;
  logger?: Logger;
}

export interface ConnectionRejectedInfo {
  code: number;
  reason: string;
  error: string;
}

interface StreamingServerEvents {
  'session-opened': [info: SessionInfo];
  'session-closed': [info: SessionClosedInfo];
  'connection-rejected': [info: ConnectionRejectedInfo];
}

const MAX_TIMER_SECONDS = 2_000_000;

type AuthResult = { ok: true; maxSessionSeconds: number | undefined } | { ok: false; reason: string };

function checkPositive(name: string, value: number | undefined, integer: boolean): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new RangeError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
}

function checkFaults(faults: readonly ServerFault[]): void {
  for (const fault of faults) {
    if (fault.kind === 'close' && !isSendableCloseCode(fault.code)) {
      throw new RangeError(`fault ${formatFault(fault)}: close code ${fault.code} cannot be sent; use 1000-1014 (not 1004-1006) or 3000-4999`);
    }
    if (fault.kind === 'drop-random' && !(fault.minMs >= 0 && fault.maxMs >= fault.minMs)) {
      throw new RangeError(`fault ${formatFault(fault)}: the range must have 0 <= MIN <= MAX`);
    }
  }
}

export class StreamingServer extends EventEmitter<StreamingServerEvents> {
  readonly url: string;
  readonly port: number;
  readonly host: string;
  private readonly live = new Map<string, StreamingSession>();
  private readonly sockets = new Set<WebSocket>();
  private readonly tokens = new TokenStore();
  private readonly wss = new WebSocketServer({ noServer: true, clientTracking: false });
  private readonly limits: SessionLimits;
  private readonly maxConcurrentSessions: number | undefined;
  private readonly logger: Logger;
  private faults: readonly ServerFault[];
  private faultRandom = new Map<Fault, () => number>();
  private nextIndex = 0;
  private closing: Promise<void> | undefined;

  /** Use startStreamingServer(). */
  constructor(
    private readonly httpServer: http.Server | https.Server,
    private readonly options: StreamingServerOptions,
    secure: boolean,
  ) {
    super();
    const address = httpServer.address();
    if (address === null || typeof address === 'string') throw new Error('the server is not listening on TCP');
    this.port = address.port;
    this.host = options.host ?? '127.0.0.1';
    const urlHost = this.host.includes(':') ? `[${this.host}]` : this.host;
    this.url = `${secure ? 'wss' : 'ws'}://${urlHost}:${this.port}${STREAMING_PATH}`;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.faults = options.faults ?? [];
    this.maxConcurrentSessions = options.limits?.maxConcurrentSessions;
    const closeTimeoutMs = options.closeTimeoutMs ?? 2000;
    this.limits = {
      maxSessionSeconds: options.limits?.maxSessionSeconds ?? MAX_SESSION_SECONDS,
      lookaheadSeconds: options.limits?.lookaheadSeconds ?? 300,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 1000,
      closeHandshakeMs: closeTimeoutMs,
      finishTimeoutMs: options.finishTimeoutMs ?? 4000,
    };
    httpServer.on('request', (request: IncomingMessage, response: ServerResponse) => this.onRequest(request, response));
    httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(request, socket, head),
    );
  }

  /** The sessions open now. */
  sessions(): SessionInfo[] {
    return [...this.live.values()].map((session) => session.info());
  }

  /** Replaces the server-level faults for sessions accepted from now on. */
  setFaults(faults: readonly ServerFault[]): void {
    checkFaults(faults);
    this.faults = faults;
    this.faultRandom = new Map();
  }

  /** Destroys every session's socket without a close frame. Returns how many. */
  dropAll(): number {
    const sessions = [...this.live.values()];
    for (const session of sessions) session.drop();
    return sessions.length;
  }

  /** An Error frame and a close with `code` for every session. Returns how many. */
  closeAll(code: number, reason: string): number {
    if (!isSendableCloseCode(code)) throw new RangeError(`closeAll: close code ${code} cannot be sent; use 1000-1014 (not 1004-1006) or 3000-4999`);
    const sessions = [...this.live.values()];
    for (const session of sessions) session.closeWithError(code, reason);
    return sessions.length;
  }

  /** Closes sessions with 1001 and stops listening; settles within closeTimeoutMs and a little. */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    for (const session of [...this.live.values()]) session.goAway('Server shutting down');
    const deadline = Date.now() + this.limits.closeHandshakeMs;
    while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => {
      this.httpServer.close(() => resolve());
      this.httpServer.closeAllConnections();
    });
    this.logger.info('server closed');
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const reply = (status: number, body: object): void => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (url.pathname === STREAMING_PATH) {
      reply(426, { error: `Upgrade Required: ${STREAMING_PATH} speaks WebSocket only` });
      return;
    }
    if (url.pathname !== TOKEN_PATH) {
      reply(404, { error: `Not found: ${url.pathname}` });
      return;
    }
    if (request.method !== 'GET') {
      reply(405, { error: `Method ${request.method ?? ''} not allowed; use GET ${TOKEN_PATH}` });
      return;
    }
    const key = request.headers.authorization;
    if (key === undefined || key === '') {
      reply(401, { error: 'Authentication error, API token missing/invalid' });
      return;
    }
    if (this.options.apiKeys !== undefined && !this.options.apiKeys.includes(key)) {
      reply(401, { error: 'Authentication error, API token missing/invalid' });
      return;
    }
    const parsed = parseTokenRequest(url.searchParams);
    if (!parsed.ok) {
      reply(400, { error: parsed.message });
      return;
    }
    reply(200, { token: this.tokens.issue(parsed.expiresInSeconds, parsed.maxSessionSeconds) });
  }

  private onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (error) => this.logger.debug({ err: error }, 'upgrade socket error'));
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== STREAMING_PATH || this.closing !== undefined) {
      const status = this.closing !== undefined ? '503 Service Unavailable' : '404 Not Found';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request, url));
  }

  private accept(socket: WebSocket, request: IncomingMessage, url: URL): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', (error) => this.logger.debug({ err: error }, 'socket error'));
    const query = url.searchParams;

    let connectionFaults: ServerFault[];
    try {
      connectionFaults = query.getAll(FAULT_QUERY_PARAM).map(parseFault);
    } catch (error) {
      this.reject(socket, CloseCode.InputValidation, `Input Validation Error: ${FAULT_QUERY_PARAM}: ${(error as Error).message}`);
      return;
    }
    const auth = this.authenticate(request, query);
    if (!auth.ok) {
      this.reject(socket, CloseCode.PolicyViolation, auth.reason);
      return;
    }
    const parsed = parseConnectionParams(query, ['token', FAULT_QUERY_PARAM]);
    if (!parsed.ok) {
      this.reject(socket, parsed.failure.code, parsed.failure.message);
      return;
    }
    if (this.maxConcurrentSessions !== undefined && this.live.size >= this.maxConcurrentSessions) {
      this.reject(socket, CloseCode.TooManySessions, REASONS.tooManySessions);
      return;
    }

    const index = this.nextIndex++;
    const faults = planFaults(
      [...this.faults.filter((fault) => fault.sessions === undefined || fault.sessions.includes(index)), ...connectionFaults],
      (fault) => drawInRange(this.randomFor(fault), fault.minMs, fault.maxMs),
    );
    const id = randomUUID();
    const limits: SessionLimits = {
      ...this.limits,
      maxSessionSeconds: Math.min(this.limits.maxSessionSeconds, auth.maxSessionSeconds ?? Infinity),
    };
    const session = new StreamingSession({
      id,
      index,
      socket,
      params: parsed.params,
      engine: this.options.engine,
      limits,
      faults,
      logger: this.logger.child({ session: id, index }),
      onOpened: (info) => this.emit('session-opened', info),
      onClosed: (info) => {
        this.live.delete(id);
        this.emit('session-closed', info);
      },
    });
    this.live.set(id, session);
    this.logger.info({ session: id, index, params: parsed.params.values }, 'session accepted');
    session.start();
  }

  /** A server-level fault draws from one seeded sequence across sessions; a connection's draws from its own. */
  private randomFor(fault: Extract<Fault, { kind: 'drop-random' }>): () => number {
    let random = this.faultRandom.get(fault);
    if (random === undefined) {
      random = seededRandom(fault.seed);
      if (this.faults.includes(fault)) this.faultRandom.set(fault, random);
    }
    return random;
  }

  private authenticate(request: IncomingMessage, query: URLSearchParams): AuthResult {
    const token = query.get('token');
    if (token !== null) {
      const grant = this.tokens.redeem(token);
      return grant === undefined
        ? { ok: false, reason: REASONS.invalidToken }
        : { ok: true, maxSessionSeconds: grant.maxSessionSeconds };
    }
    const key = request.headers.authorization;
    if (key === undefined || key === '') return { ok: false, reason: REASONS.missingAuth };
    if (this.options.apiKeys !== undefined && !this.options.apiKeys.includes(key)) {
      return { ok: false, reason: REASONS.invalidAuth };
    }
    return { ok: true, maxSessionSeconds: undefined };
  }

  private reject(socket: WebSocket, code: number, error: string): void {
    this.logger.info({ code, error }, 'connection rejected');
    sendErrorAndClose(socket, code, error, this.limits.closeHandshakeMs);
    this.emit('connection-rejected', { code, reason: closeReasonFor(error), error });
  }
}

export async function startStreamingServer(options: StreamingServerOptions): Promise<StreamingServer> {
  checkFaults(options.faults ?? []);
  checkPositive('limits.maxSessionSeconds', options.limits?.maxSessionSeconds, false);
  // Beyond this a timer would overflow and fire at once.
  if ((options.limits?.maxSessionSeconds ?? 0) > MAX_TIMER_SECONDS) {
    throw new RangeError(`limits.maxSessionSeconds must be at most ${MAX_TIMER_SECONDS}, got ${options.limits?.maxSessionSeconds}`);
  }
  checkPositive('limits.maxConcurrentSessions', options.limits?.maxConcurrentSessions, true);
  const lookahead = options.limits?.lookaheadSeconds;
  if (lookahead !== undefined && !(Number.isFinite(lookahead) && lookahead >= 0)) {
    throw new RangeError(`limits.lookaheadSeconds must be a number of seconds >= 0, got ${lookahead}`);
  }
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  const httpServer = options.tls === undefined ? http.createServer() : https.createServer({ cert: options.tls.cert, key: options.tls.key });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void =>
      reject(new Error(`earshot serve cannot listen on ${host}:${port}: ${error.code ?? ''} ${error.message}`.trim(), { cause: error }));
    httpServer.once('error', onError);
    httpServer.listen(port, host, () => {
      httpServer.off('error', onError);
      resolve();
    });
  });
  return new StreamingServer(httpServer, options, options.tls !== undefined);
}
