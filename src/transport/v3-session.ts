/**
 * One AssemblyAI v3 streaming session over one WebSocket: connect with the
 * key (header) or a temporary token (query) and the connection parameters,
 * wait for Begin, send audio, receive typed messages, and end with Terminate
 * -> last turns -> Termination -> close. Every path settles within a bound:
 * opening is capped by connectTimeoutMs, terminating by its timeout, and a
 * socket error before Begin rejects instead of escaping as an exception.
 *
 * A connection can die without a close (a network path gone, a server that
 * stopped reading): TCP would keep accepting audio into kernel buffers for
 * minutes. So the session pings; a pong proves the server has read
 * everything sent before the ping (RFC 6455 makes the answer a MUST), and no
 * pong for livenessTimeoutMs ends the session as a lost connection.
 */
import type { Logger } from 'pino';
import WebSocket from 'ws';
import {
  TranscriberConnectError,
  TranscriberSessionError,
  describeClose,
  endpointOf,
  redactUrl,
  type TranscriberError,
} from './errors.js';
import {
  SERVER_MESSAGE_TYPES,
  type BeginMessage,
  type ClientMessage,
  type ConnectionParams,
  type ServerMessage,
  type TerminationMessage,
  type TurnMessage,
  type UnknownServerMessage,
} from './protocol.js';

export interface V3SessionOptions {
  url: string;
  apiKey?: string;
  token?: string;
  /** Query parameters, by their API names (sample_rate and encoding included). */
  params: ConnectionParams;
  connectTimeoutMs: number;
  /** No pong for this long after a ping: the connection is taken as lost (default 15000). */
  livenessTimeoutMs?: number;
  logger: Logger;
}

const PING_INTERVAL_MS = 5000;
const DEFAULT_LIVENESS_TIMEOUT_MS = 15000;

export interface SessionListeners {
  turn?: (turn: TurnMessage) => void;
  /** Every other server message (SpeechStarted, Heartbeat, Warning, Silence, ... and unknown types). */
  message?: (message: ServerMessage | UnknownServerMessage) => void;
  /** The session is over: null after a normal end, else why. Called once. */
  closed?: (error: TranscriberError | null) => void;
}

/** The URL a session connects to: base URL plus parameters in the API's query encoding. */
export function sessionUrl(base: string, params: ConnectionParams, token?: string): string {
  const url = new URL(base);
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    url.searchParams.set(name, typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
  if (token) url.searchParams.set('token', token);
  return url.toString();
}

export class V3Session {
  private terminationWaiter: ((message: TerminationMessage | undefined) => void) | undefined;
  private closedError: TranscriberError | null | undefined;
  private errorMessage: { code?: number; text: string } | undefined;
  private readonly unknownTypes = new Set<string>();
  private readonly safeUrl: string;
  private readonly pingTimer: NodeJS.Timeout;
  /** When the oldest ping still unanswered was sent. */
  private unansweredSince: number | undefined;
  private livenessFailure: string | undefined;

  private constructor(
    private readonly socket: WebSocket,
    readonly begin: BeginMessage,
    url: string,
    private readonly listeners: SessionListeners,
    private readonly logger: Logger,
    private readonly livenessTimeoutMs: number,
  ) {
    this.safeUrl = redactUrl(url);
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('close', (code, reason) => this.onClose(code, reason.toString()));
    socket.on('error', (error) => this.logger.debug({ err: error }, 'transcriber socket error'));
    socket.on('pong', () => {
      this.unansweredSince = undefined;
    });
    this.pingTimer = setInterval(() => this.checkLiveness(), Math.min(PING_INTERVAL_MS, livenessTimeoutMs / 3));
    this.checkLiveness();
  }

  get id(): string {
    return this.begin.id;
  }

  /** Bytes queued in the socket, not yet handed to the network. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN && this.closedError === undefined;
  }

  /** Opens a session; resolves at Begin, rejects with a typed error otherwise. */
  static open(options: V3SessionOptions, listeners: SessionListeners, signal?: AbortSignal): Promise<V3Session> {
    const url = sessionUrl(options.url, options.params, options.token);
    const safeUrl = redactUrl(url);
    const headers: Record<string, string> = {};
    if (options.apiKey) headers.Authorization = options.apiKey;
    return new Promise<V3Session>((resolve, reject) => {
      let settled = false;
      let errorFrame: { code?: number; text: string } | undefined;
      const socket = new WebSocket(url, { headers, handshakeTimeout: options.connectTimeoutMs, perMessageDeflate: false });
      const fail = (error: TranscriberError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.removeAllListeners();
        socket.on('error', () => undefined);
        socket.terminate();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new TranscriberConnectError(`no Begin from ${endpointOf(url)} within ${options.connectTimeoutMs} ms`, false, { url: safeUrl })),
        options.connectTimeoutMs,
      );
      const onAbort = (): void => fail(new TranscriberConnectError('connection attempt cancelled', false, { url: safeUrl }));
      signal?.addEventListener('abort', onAbort, { once: true });

      socket.on('unexpected-response', (_request, response) => {
        const status = response.statusCode ?? 0;
        // 401/403: the key; 404: the URL; other 4xx are our request's fault too. 5xx and 429 are worth retrying.
        const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
        fail(new TranscriberConnectError(`${endpointOf(url)} refused the WebSocket upgrade: HTTP ${status} ${response.statusMessage ?? ''}`.trim(), permanent, { url: safeUrl, status }));
      });
      socket.on('error', (error: NodeJS.ErrnoException) => {
        const permanent = error.code === 'ENOTFOUND' || error.code === 'ERR_INVALID_URL' || /certificate|self[- ]signed/i.test(error.message);
        fail(new TranscriberConnectError(`cannot connect to ${endpointOf(url)}: ${error.message}`, permanent, { url: safeUrl }, { cause: error }));
      });
      socket.on('close', (code, reasonBuffer) => {
        const reason = errorFrame?.text ?? reasonBuffer.toString();
        const { permanent, text } = describeClose(code, reason);
        fail(new TranscriberConnectError(`${endpointOf(url)} refused the session before Begin: ${text}`, permanent, { url: safeUrl, code, reason }));
      });
      socket.on('message', (data, isBinary) => {
        if (isBinary) return;
        let message: ServerMessage;
        try {
          message = JSON.parse(rawText(data)) as ServerMessage;
        } catch {
          options.logger.warn({ url: safeUrl }, 'ignoring a malformed message before Begin');
          return;
        }
        if (message.type === 'Begin') {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          socket.removeAllListeners();
          resolve(new V3Session(socket, message, url, listeners, options.logger, options.livenessTimeoutMs ?? DEFAULT_LIVENESS_TIMEOUT_MS));
        } else if ('error' in message) {
          // The close that follows carries the code; keep the full text (close reasons are truncated).
          errorFrame = { code: (message as { error_code?: number }).error_code, text: String(message.error) };
        }
      });
    });
  }

  sendAudio(chunk: Uint8Array): void {
    if (this.isOpen) this.socket.send(chunk);
  }

  forceEndpoint(): void {
    this.sendJson({ type: 'ForceEndpoint' });
  }

  keepAlive(): void {
    this.sendJson({ type: 'KeepAlive' });
  }

  updateConfiguration(params: Record<string, unknown>): void {
    this.sendJson({ ...params, type: 'UpdateConfiguration' });
  }

  /**
   * Ends the session: Terminate, the last turns (delivered to the listeners as
   * they come), Termination, close. Resolves with the Termination message, or
   * undefined if none came within timeoutMs (the socket is closed either way).
   */
  async terminate(timeoutMs: number): Promise<TerminationMessage | undefined> {
    if (!this.isOpen) return undefined;
    const termination = new Promise<TerminationMessage | undefined>((resolve) => {
      this.terminationWaiter = resolve;
    });
    this.sendJson({ type: 'Terminate' });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    const result = await Promise.race([termination, timeout]);
    clearTimeout(timer);
    this.terminationWaiter = undefined;
    if (!result) this.logger.warn({ session_id: this.id, timeout_ms: timeoutMs }, 'no Termination from the transcriber; closing anyway');
    this.close();
    return result;
  }

  private checkLiveness(): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const now = Date.now();
    if (this.unansweredSince !== undefined && now - this.unansweredSince >= this.livenessTimeoutMs) {
      this.livenessFailure = `no answer to ping for ${now - this.unansweredSince} ms (the server stopped reading or the network path is gone)`;
      this.logger.warn({ session_id: this.id, buffered_bytes: this.socket.bufferedAmount }, `transcriber connection lost: ${this.livenessFailure}`);
      this.socket.terminate();
      return;
    }
    this.unansweredSince ??= now;
    this.socket.ping();
  }

  /** Closes the socket now, without Terminate. */
  close(): void {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(1000);
      // A server that never answers the close handshake must not keep us waiting.
      setTimeout(() => this.socket.terminate(), 2000).unref();
    }
  }

  private sendJson(message: ClientMessage): void {
    if (this.isOpen) this.socket.send(JSON.stringify(message));
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawText(data));
    } catch {
      this.logger.warn({ session_id: this.id, frame: rawText(data).slice(0, 200) }, 'ignoring a malformed message from the transcriber');
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      this.logger.warn({ session_id: this.id }, 'ignoring a transcriber message that is not a JSON object');
      return;
    }
    const message = parsed as ServerMessage | UnknownServerMessage;
    if ('error' in message && message.error !== undefined) {
      // Any message with an `error` field is an error (as the SDK reads it); the close that follows carries the code.
      const code = typeof message.error_code === 'number' ? message.error_code : undefined;
      this.errorMessage = { ...(code !== undefined ? { code } : {}), text: typeof message.error === 'string' ? message.error : JSON.stringify(message.error) };
      this.logger.warn({ session_id: this.id, error_code: code, error: message.error }, 'transcriber error message');
    }
    switch (message.type) {
      case 'Turn':
        this.listeners.turn?.(message as TurnMessage);
        return;
      case 'Termination':
        this.terminationWaiter?.(message as TerminationMessage);
        return;
      case 'Warning':
        this.logger.warn({ session_id: this.id, warning_code: message.warning_code, warning: message.warning }, 'transcriber warning');
        break;
      default:
        if (!SERVER_MESSAGE_TYPES.includes(message.type as ServerMessage['type']) && !this.unknownTypes.has(String(message.type))) {
          // A newer API may add types: say so once per type, never fail on it.
          this.unknownTypes.add(String(message.type));
          this.logger.warn({ session_id: this.id, message_type: message.type }, 'ignoring transcriber messages of an unknown type');
        }
    }
    this.listeners.message?.(message);
  }

  private onClose(code: number, reasonText: string): void {
    clearInterval(this.pingTimer);
    if (this.closedError !== undefined) return;
    this.terminationWaiter?.(undefined);
    let error: TranscriberError | null = null;
    if (this.livenessFailure !== undefined) {
      error = new TranscriberSessionError(`transcriber session ${this.id} at ${endpointOf(this.safeUrl)} lost: ${this.livenessFailure}; reconnecting`, false, {
        url: this.safeUrl,
        code: 1006,
        reason: this.livenessFailure,
      });
    } else if (code !== 1000 || this.errorMessage) {
      const reason = this.errorMessage?.text ?? reasonText;
      const effectiveCode = code === 1000 && this.errorMessage?.code ? this.errorMessage.code : code;
      const { permanent, text } = describeClose(effectiveCode, reason);
      error = new TranscriberSessionError(
        `transcriber session ${this.id} at ${endpointOf(this.safeUrl)} ended: ${text}`,
        permanent,
        { url: this.safeUrl, code: effectiveCode, reason },
      );
    }
    this.closedError = error;
    this.listeners.closed?.(error);
  }
}

function rawText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
