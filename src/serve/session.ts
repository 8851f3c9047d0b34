/**
 * One streaming session on the server side: Begin, audio in, Turns out,
 * Terminate -> Termination -> close 1000, and every way it can end early.
 * Nothing is ever sent after Termination or after the close began.
 */
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { EngineFactory, EngineSpeakerRevision, EngineTurnUpdate, RecognitionEngine } from './engine.js';
import { UNKNOWN_SPEAKER } from '../transport/speaker-names.js';
import { AudioDecoder } from './audio-decoder.js';
import type { FaultPlan, TimedFaultAction } from './faults.js';
import { parseConfigurationUpdate, type SessionParams } from './params.js';
import { formattedFinal, partialTurn, unformattedFinal } from './turn-messages.js';
import {
  CloseCode,
  MAX_CHUNK_MS,
  MAX_CLOSE_REASON_BYTES,
  MIN_CHUNK_MS,
  REASONS,
  type ConnectionParamValue,
  type ServerMessage,
  type TurnWord,
} from '../transport/protocol.js';

/** Finals a speaker revision can still name (the service revises the last few minutes). */
const REVISABLE_TURNS = 1000;

export type SessionState = 'opening' | 'open' | 'terminating' | 'closed';

export interface SessionInfo {
  id: string;
  /** Order in which the server accepted it, from 0. */
  index: number;
  /** The connection parameters as sent (typed), with UpdateConfiguration applied. */
  params: Readonly<Record<string, ConnectionParamValue>>;
  sampleRate: number;
  encoding: string;
  audioMsReceived: number;
  state: SessionState;
  /** Epoch ms when the server accepted the connection (the session clock's zero). */
  startedAt: number;
  faults: FaultPlan;
}

/** server: the server closed it; client: the client closed it or the connection broke; drop: a fault or dropAll(). */
export type CloseInitiator = 'server' | 'client' | 'drop';

export interface SessionClosedInfo extends SessionInfo {
  /** The close code sent (server), received (client), or 1006 (drop). */
  code: number;
  reason: string;
  initiator: CloseInitiator;
  /** The Error frame's text, when one was sent. */
  error?: string;
  terminationSent: boolean;
}

export interface SessionLimits {
  maxSessionSeconds: number;
  lookaheadSeconds: number;
  heartbeatIntervalMs: number;
  /** How long a close handshake may take before the socket is destroyed. */
  closeHandshakeMs: number;
  /** How long engine.finish() may take after Terminate. */
  finishTimeoutMs: number;
}

export interface SessionOptions {
  id: string;
  index: number;
  socket: WebSocket;
  params: SessionParams;
  engine: EngineFactory;
  limits: SessionLimits;
  faults: FaultPlan;
  logger: Logger;
  onOpened: (info: SessionInfo) => void;
  onClosed: (info: SessionClosedInfo) => void;
}

/** A close reason the protocol can carry: long texts point at the Error frame. */
export function closeReasonFor(text: string): string {
  return Buffer.byteLength(text) > MAX_CLOSE_REASON_BYTES ? REASONS.seeErrorMessage : text;
}

/** Error frame, then close with the same code; the handshake is bounded. */
export function sendErrorAndClose(socket: WebSocket, code: number, text: string, handshakeMs: number): void {
  socket.send(JSON.stringify({ type: 'Error', error_code: code, error: text }));
  closeBounded(socket, code, closeReasonFor(text), handshakeMs);
}

export function closeBounded(socket: WebSocket, code: number, reason: string, handshakeMs: number): void {
  socket.close(code, reason);
  const guard = setTimeout(() => socket.terminate(), handshakeMs);
  guard.unref();
  socket.once('close', () => clearTimeout(guard));
}

const clip = (text: string): string => (text.length > 200 ? `${text.slice(0, 200)}...` : text);
const seconds = (ms: number): string => String(Math.round(ms / 10) / 100);
const formatMs = (ms: number): string => String(Math.round(ms * 10) / 10);
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Models that announce speech with SpeechStarted (docs: Universal-3 Pro only). */
const SPEECH_STARTED_MODELS = /^(u3-|universal-3)/;

export class StreamingSession {
  readonly id: string;
  readonly index: number;
  readonly startedAt = Date.now();
  private state: SessionState = 'opening';
  private readonly socket: WebSocket;
  private readonly params: Record<string, ConnectionParamValue>;
  private readonly sampleRate: number;
  private readonly encoding: string;
  private readonly decoder: AudioDecoder;
  private readonly limits: SessionLimits;
  private readonly faults: FaultPlan;
  private readonly logger: Logger;
  private readonly onOpened: (info: SessionInfo) => void;
  private readonly onClosed: (info: SessionClosedInfo) => void;
  private readonly engineFactory: EngineFactory;
  private engine: RecognitionEngine | undefined;
  private bytesReceived = 0;
  private terminationSent = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private inactivityTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private beginTimer: NodeJS.Timeout | undefined;
  // Turn bookkeeping: the session, not the engine, numbers turns.
  private turnOrder = 0;
  private turnOpen = false;
  private lastTurnEndMs = 0;
  private speechSinceHeartbeat = false;
  /** With speaker_labels: the words of each final sent, by turn_order, for speaker revisions. */
  private readonly finalWords = new Map<number, TurnWord[]>();

  constructor(options: SessionOptions) {
    this.id = options.id;
    this.index = options.index;
    this.socket = options.socket;
    this.params = { ...options.params.values };
    this.sampleRate = options.params.sampleRate;
    this.encoding = options.params.encoding;
    this.decoder = new AudioDecoder(options.params.encoding, options.params.sampleRate);
    this.limits = options.limits;
    this.faults = options.faults;
    this.logger = options.logger;
    this.onOpened = options.onOpened;
    this.onClosed = options.onClosed;
    this.engineFactory = options.engine;
  }

  /** Starts the engine and the session clock; Begin goes out now or after a delay-begin fault. */
  start(): void {
    this.socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.socket.on('close', (code, reason) => this.finalize(code, reason.toString(), 'client'));
    this.socket.on('error', (error) => this.logger.debug({ err: error }, 'socket error'));
    try {
      const engine = this.engineFactory({ sampleRate: this.sampleRate, logger: this.logger });
      engine.onTurn((update) => this.onEngineTurn(update));
      engine.onError((error) => this.engineFailed(error));
      this.engine = engine;
    } catch (error) {
      this.engineFailed(error);
      return;
    }
    this.schedule(this.limits.maxSessionSeconds * 1000, () =>
      this.fail(CloseCode.SessionExpired, REASONS.sessionExpired),
    );
    this.resetInactivity();
    if (this.faults.delayBeginMs > 0) {
      this.beginTimer = this.schedule(this.faults.delayBeginMs, () => this.sendBegin());
    } else {
      this.sendBegin();
    }
  }

  info(): SessionInfo {
    return {
      id: this.id,
      index: this.index,
      params: { ...this.params },
      sampleRate: this.sampleRate,
      encoding: this.encoding,
      audioMsReceived: this.audioMs(),
      state: this.state,
      startedAt: this.startedAt,
      faults: this.faults,
    };
  }

  /** Test hook: destroy the socket, no close frame. */
  drop(): void {
    if (this.isClosed()) return;
    this.socket.terminate();
    this.finalize(1006, '', 'drop');
  }

  /** Test hook and fault: an Error frame, then close with `code`. */
  closeWithError(code: number, text: string): void {
    this.fail(code, text);
  }

  /** Server shutdown: 1001 going away, no Error frame (the session did nothing wrong). */
  goAway(reason: string): void {
    if (this.isClosed()) return;
    closeBounded(this.socket, 1001, reason, this.limits.closeHandshakeMs);
    this.finalize(1001, reason, 'server');
  }

  private audioMs(): number {
    return this.decoder.durationMs(this.bytesReceived);
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private schedule(ms: number, action: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private unschedule(timer: NodeJS.Timeout | undefined): void {
    if (timer === undefined) return;
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  private send(message: ServerMessage | { type: string; [field: string]: unknown }): void {
    this.sendRaw(JSON.stringify(message));
  }

  private sendRaw(text: string): void {
    if (this.isClosed() || this.terminationSent) return;
    this.socket.send(text, (error) => {
      if (error) this.logger.debug({ err: error }, 'send failed');
    });
  }

  private sendBegin(): void {
    if (this.state !== 'opening') return;
    this.unschedule(this.beginTimer);
    this.beginTimer = undefined;
    this.state = 'open';
    this.send({
      type: 'Begin',
      id: this.id,
      expires_at: Math.floor(this.startedAt / 1000 + this.limits.maxSessionSeconds),
    });
    this.updateHeartbeat();
    for (const action of this.faults.timed) this.schedule(action.atMs, () => this.runFault(action));
    this.onOpened(this.info());
  }

  private runFault(action: TimedFaultAction): void {
    this.logger.info({ fault: action }, 'injecting fault');
    switch (action.action) {
      case 'drop':
        this.drop();
        break;
      case 'close':
        if (action.code >= 3000 || action.code === CloseCode.PolicyViolation) {
          this.fail(action.code, action.reason);
        } else if (!this.isClosed()) {
          closeBounded(this.socket, action.code, closeReasonFor(action.reason), this.limits.closeHandshakeMs);
          this.finalize(action.code, action.reason, 'server');
        }
        break;
      case 'malformed-json':
        this.sendRaw('{"type":"Turn","turn_order":');
        break;
      case 'unknown-message':
        this.send({ type: 'EarshotInjectedUnknown', note: 'fault injection: a message type the API does not define' });
        break;
    }
  }

  /** An Error frame, then close with the same code. */
  private fail(code: number, text: string): void {
    if (this.isClosed()) return;
    this.logger.info({ code, error: text }, 'closing session on error');
    sendErrorAndClose(this.socket, code, text, this.limits.closeHandshakeMs);
    this.finalize(code, closeReasonFor(text), 'server', text);
  }

  private finalize(code: number, reason: string, initiator: CloseInitiator, error?: string): void {
    if (this.isClosed()) return;
    this.state = 'closed';
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.inactivityTimer = undefined;
    this.heartbeatTimer = undefined;
    this.engine?.close();
    const info: SessionClosedInfo = {
      ...this.info(),
      code,
      reason,
      initiator,
      terminationSent: this.terminationSent,
      ...(error === undefined ? {} : { error }),
    };
    this.logger.info({ code, reason, initiator, audioMs: Math.round(info.audioMsReceived) }, 'session closed');
    this.onClosed(info);
  }

  private engineFailed(error: unknown): void {
    this.logger.error({ err: error }, 'engine failed');
    this.fail(CloseCode.ServerError, REASONS.serverError);
  }

  private resetInactivity(): void {
    const timeout = this.params.inactivity_timeout;
    if (typeof timeout !== 'number' || this.isClosed() || this.state === 'terminating') return;
    this.unschedule(this.inactivityTimer);
    // Decision (the reference is silent on the code): an idle session ends as if
    // the client had sent Terminate: last turns, Termination, close 1000.
    this.inactivityTimer = this.schedule(timeout * 1000, () => {
      this.logger.info({ inactivity_timeout: timeout }, 'session idle; terminating');
      void this.terminate();
    });
  }

  private updateHeartbeat(): void {
    const wanted = this.params.session_heartbeat === true && this.state === 'open';
    if (!wanted) {
      this.unschedule(this.heartbeatTimer);
      this.heartbeatTimer = undefined;
      return;
    }
    if (this.heartbeatTimer !== undefined) return;
    const beat = (): void => {
      const durationMs = Date.now() - this.startedAt;
      const audioMs = this.audioMs();
      this.send({
        type: 'Heartbeat',
        total_audio_received_ms: Math.round(audioMs),
        total_duration_ms: durationMs,
        realtime_factor: durationMs > 0 ? Math.round((audioMs / durationMs) * 1000) / 1000 : 0,
        // The emulator has no speech model: 1 when the engine reported speech since the last beat.
        max_speech_probability: this.speechSinceHeartbeat ? 1 : 0,
      });
      this.speechSinceHeartbeat = false;
      this.heartbeatTimer = this.schedule(this.limits.heartbeatIntervalMs, beat);
    };
    this.heartbeatTimer = this.schedule(this.limits.heartbeatIntervalMs, beat);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.isClosed()) return;
    this.resetInactivity();
    const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) this.onAudio(buffer);
    else this.onText(buffer.toString('utf8'));
  }

  private onAudio(data: Buffer): void {
    // After Terminate the session only finishes what it has.
    if (this.state === 'terminating') return;
    const chunkMs = this.decoder.durationMs(data.length);
    if (chunkMs < MIN_CHUNK_MS || chunkMs > MAX_CHUNK_MS) {
      this.fail(
        CloseCode.InputDuration,
        `Input duration violation: ${formatMs(chunkMs)} ms. Expected between ${MIN_CHUNK_MS} and ${MAX_CHUNK_MS} ms`,
      );
      return;
    }
    this.bytesReceived += data.length;
    const audioMs = this.audioMs();
    const elapsedMs = Date.now() - this.startedAt;
    if (audioMs - elapsedMs > this.limits.lookaheadSeconds * 1000) {
      this.fail(
        CloseCode.InputDuration,
        `Audio Transmission Rate Exceeded: Received ${seconds(audioMs)} sec. audio in ${seconds(elapsedMs)} sec`,
      );
      return;
    }
    try {
      this.engine?.pushAudio(this.decoder.decode(data));
    } catch (error) {
      this.engineFailed(error);
    }
  }

  private onText(text: string): void {
    if (this.state === 'terminating') return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.fail(CloseCode.InputValidation, `Invalid JSON: ${clip(text)}`);
      return;
    }
    if (!isRecord(message) || typeof message.type !== 'string') {
      this.fail(CloseCode.InputValidation, `Invalid Message: ${clip(text)}`);
      return;
    }
    switch (message.type) {
      case 'Terminate':
        if (this.faults.ignoreTerminate) {
          this.logger.info('fault: ignoring Terminate');
          return;
        }
        void this.terminate();
        return;
      case 'ForceEndpoint':
        this.engine?.forceEndpoint();
        return;
      case 'KeepAlive':
        return;
      case 'UpdateConfiguration':
        this.updateConfiguration(message);
        return;
      default:
        this.fail(CloseCode.InputValidation, `Invalid Message Type: ${clip(message.type)}`);
    }
  }

  private updateConfiguration(message: Record<string, unknown>): void {
    const result = parseConfigurationUpdate(message);
    if (!result.ok) {
      this.fail(CloseCode.InputValidation, result.message);
      return;
    }
    Object.assign(this.params, result.updates);
    this.logger.debug({ updates: result.updates }, 'configuration updated');
    this.updateHeartbeat();
  }

  /** Last turns, Termination, close 1000; bounded by finishTimeoutMs. */
  private async terminate(): Promise<void> {
    if (this.state !== 'open' && this.state !== 'opening') return;
    if (this.state === 'opening') this.sendBegin();
    this.state = 'terminating';
    this.updateHeartbeat();
    this.unschedule(this.inactivityTimer);
    const engine = this.engine;
    if (engine === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        engine.finish(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`engine did not finish within ${this.limits.finishTimeoutMs} ms`)),
            this.limits.finishTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      this.engineFailed(error);
      return;
    } finally {
      clearTimeout(timer);
    }
    if (this.isClosed()) return;
    const durationMs = Date.now() - this.startedAt;
    this.send({
      type: 'Termination',
      audio_duration_seconds: Math.round(this.audioMs()) / 1000,
      session_duration_seconds: Math.round(durationMs) / 1000,
    });
    this.terminationSent = true;
    closeBounded(this.socket, CloseCode.Normal, '', this.limits.closeHandshakeMs);
    this.finalize(CloseCode.Normal, '', 'server');
  }

  private onEngineTurn(update: EngineTurnUpdate): void {
    if (this.isClosed() || this.terminationSent) return;
    if (update.words.length === 0 && !this.turnOpen) return;
    this.speechSinceHeartbeat = true;
    if (!this.turnOpen) this.startTurn(update);
    // Like the service: with speaker_labels every turn has a speaker, UNKNOWN when none could be told.
    const speaker = this.params.speaker_labels === true ? (update.speaker ?? UNKNOWN_SPEAKER) : undefined;
    if (!update.end_of_turn) {
      this.send(partialTurn(this.turnOrder, update, speaker));
      return;
    }
    let final = unformattedFinal(this.turnOrder, update, speaker);
    this.send(final);
    if (this.params.format_turns === true) {
      final = formattedFinal(this.turnOrder, update, speaker);
      this.send(final);
    }
    if (speaker !== undefined) {
      this.finalWords.set(this.turnOrder, final.words);
      this.finalWords.delete(this.turnOrder - REVISABLE_TURNS);
      this.sendSpeakerRevision(update.revisions ?? []);
    }
    const lastWord = update.words[update.words.length - 1];
    if (lastWord !== undefined) this.lastTurnEndMs = Math.round(lastWord.end_ms);
    this.turnOrder += 1;
    this.turnOpen = false;
  }

  /** Earlier turns' new speakers, their words as they were sent (text and times unchanged, as the service does). */
  private sendSpeakerRevision(revisions: readonly EngineSpeakerRevision[]): void {
    const items = revisions.flatMap((revision) => {
      const words = this.finalWords.get(revision.turn_order);
      if (words === undefined) return [];
      const revised = words.map((word) => ({ ...word, speaker: revision.speaker }));
      this.finalWords.set(revision.turn_order, revised);
      return [{ turn_order: revision.turn_order, speaker_label: revision.speaker, words: revised }];
    });
    if (items.length > 0) this.send({ type: 'SpeakerRevision', revisions: items });
  }

  private startTurn(update: EngineTurnUpdate): void {
    this.turnOpen = true;
    const first = update.words[0];
    if (first === undefined) return;
    const startMs = Math.round(first.start_ms);
    const model = this.params.speech_model;
    if (typeof model === 'string' && SPEECH_STARTED_MODELS.test(model)) {
      this.send({ type: 'SpeechStarted', timestamp: startMs, confidence: first.confidence });
    }
    // Our reading of acknowledge_silence (unverified): report the silence a turn ends.
    if (this.params.acknowledge_silence === true && startMs > this.lastTurnEndMs) {
      this.send({ type: 'Silence', start_ms: this.lastTurnEndMs, end_ms: startMs });
    }
  }
}
