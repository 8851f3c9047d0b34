/**
 * The transcription stream of one pipeline: audio in, transcript events out,
 * across as many transcriber sessions as it takes.
 *
 * - Audio waits in the backlog until the transcript covers it. When a session
 *   dies, the next one is sent everything from the start of the turn that was
 *   open (or from the last confirmed point), so no turn is lost; the turn
 *   tracker drops the finals that come twice.
 * - Transient failures reconnect with jittered exponential backoff; permanent
 *   ones (bad key, bad parameters) end the stream with the service's reason.
 * - Sending is paced: never more than lookaheadMs ahead of the session's wall
 *   clock (the service rejects audio sent faster than real time), never more
 *   than the socket can take (bufferedAmount), in 50..1000 ms chunks.
 * - A session closed for audio sent too fast (3007 rate) teaches the stream
 *   a smaller lookahead for every later session.
 * - Sessions are rolled over before the service's maximum duration, at a turn
 *   boundary when one comes: the next session is opened while the current one
 *   still streams, then takes over with a replay from the open turn (or the
 *   last confirmed point) and the old one is ended; its later turns are
 *   ignored, as the new session hears what they covered. finish() sends what
 *   is left, Terminate, and waits for the last turns (in a new session if the
 *   connection breaks before they come).
 * - pause() ends the session gracefully (the audio captured so far is sent, then
 *   Terminate finalises the open turn) and opens none until resume(); frames
 *   captured meanwhile are discarded by the caller (framePaused), so positions
 *   keep counting captured audio and the transcript jumps by the pause.
 */
import type { Logger } from 'pino';
import { Observable, defer, firstValueFrom, retry, throwError } from 'rxjs';
import type { ReconnectConfig } from '../config/schema.js';
import type { SpeakerRevisionEvent, TranscriptEvent } from '../model/transcript.js';
import { backoffDelay, sleep } from '../pipeline/backoff.js';
import { monotonicMs } from '../capture/clock.js';
import { AudioBacklog } from './backlog.js';
import { TranscriberError, rateExcessMs } from './errors.js';
import { MAX_CHUNK_MS, MIN_CHUNK_MS, type SpeakerRevisionMessage, type TerminationMessage, type TurnMessage } from './protocol.js';
import type { SpeakerNames } from './speaker-names.js';
import { SessionTimeline } from './timeline.js';
import { TurnTracker } from './turns.js';
import type { SessionListeners } from './v3-session.js';

/** What the stream needs of a session (V3Session provides it). */
export interface TranscriptionSession {
  readonly id: string;
  readonly begin: { expires_at: number };
  readonly bufferedAmount: number;
  readonly isOpen: boolean;
  sendAudio(chunk: Uint8Array): void;
  forceEndpoint(): void;
  updateConfiguration(params: Record<string, unknown>): void;
  terminate(timeoutMs: number): Promise<TerminationMessage | undefined>;
  close(): void;
}

export type SessionConnector = (listeners: SessionListeners, signal: AbortSignal) => Promise<TranscriptionSession>;

/** pausing: ending the session after the audio captured before a pause; paused: no session, audio discarded. */
export type StreamState = 'connecting' | 'streaming' | 'reconnecting' | 'pausing' | 'paused' | 'finishing' | 'ended' | 'failed';

export interface StreamStatus {
  state: StreamState;
  sessionId?: string;
  error?: { name: string; message: string; code?: number; permanent: boolean };
  retryInMs?: number;
}

export interface StreamOptions {
  pipeline: string;
  label?: string;
  sampleRate: number;
  frameSamples: number;
  bufferSeconds: number;
  connect: SessionConnector;
  formatTurns: boolean;
  reconnect: ReconnectConfig;
  terminationTimeoutMs: number;
  /** How far ahead of the session's wall clock audio may be sent (catching up after a reconnect). */
  lookaheadMs: number;
  /** Audio sent this long ago with no turn open is taken as transcribed; Infinity: only finals confirm. */
  confirmAfterMs: number;
  logger: Logger;
  /** Names for the service's speaker labels (`A` -> `Alice`). */
  speakers?: SpeakerNames;
  onEvent(event: TranscriptEvent): void;
  /** The service revised the speakers of turns already delivered (speaker_labels). */
  onRevision?(event: SpeakerRevisionEvent): void;
  onStatus(status: StreamStatus): void;
  /** Capture-to-send latency of each frame sent for the first time, in ms. */
  onFrameSent?(latencyMs: number): void;
}

export interface StreamStats {
  framesIn: number;
  framesSent: number;
  framesReplayed: number;
  chunksSent: number;
  bytesSent: number;
  sessions: number;
  reconnects: number;
  turnsFinal: number;
  /** Frames the backlog dropped before sending them (it was full), plus those never sent when the stream stopped. */
  droppedUnsent: number;
  /** Frames the backlog dropped after sending them, before the transcript confirmed them. */
  droppedUnconfirmed: number;
  /** Frames whose audio is missing from the transcript because of this stage: dropped unsent, or sent to a session that ended before confirming them. */
  framesLost: number;
  /** Gaps in frame numbering seen on the way in (frames lost before this stage). */
  framesMissing: number;
  /** Frames captured while paused and discarded on purpose (not lost: never meant to be transcribed). */
  framesPaused: number;
  /** Sessions replaced before they expired. */
  rollovers: number;
  /** Sessions the service closed for audio sent faster than real time (3007). */
  rateLimited: number;
  /** How far ahead of a session's clock audio may be sent now (it shrinks after a 3007). */
  lookaheadMs: number;
  /** The most audio bytes ever queued in a socket, not yet handed to the network. */
  peakBufferedBytes: number;
  /** Audio waiting to be sent, in ms: how far behind live the transcriber is. */
  unsentMs: number;
}

/** A session plus what only it knows: its clock and its formatting setting. */
interface SessionContext {
  session?: TranscriptionSession;
  timeline: SessionTimeline;
  formatTurns: boolean;
  startedAt: number;
  /** We are ending it (finish): its close is no failure and gets no successor. */
  ending: boolean;
  /** A newer session took over: its turns are ignored (the newer one was replayed what they cover). */
  superseded: boolean;
  deliveredFinal: boolean;
  /** Why it closed, once it has: null after a normal end. */
  closeError?: TranscriberError | null;
  /** Told when the socket has closed (a pause waits for it before saying it is paused). */
  onClosed?: () => void;
  /** When each chunk went out and where it ended, for confirming quiet audio. */
  sendLog: SendRecord[];
  /** Session length the service granted (expires_at - Begin), and when it ends on our clock. */
  lifetimeMs: number;
  expiresAt: number;
}

interface SendRecord {
  at: number;
  pipelineEndMs: number;
}

/** Sessions closing sooner than this after Begin count as failed connection attempts. */
const QUICK_FAILURE_MS = 5000;
/** Replayed audio starts this much before the open turn's first word. */
const REPLAY_PAD_MS = 300;
/** Start rolling over to a new session this long before the current one expires (at most a quarter of its life). */
const ROLLOVER_MARGIN_MS = 5 * 60 * 1000;
/** Keep at most this many seconds of audio queued in the socket. */
const MAX_SOCKET_BUFFER_SECONDS = 5;
/** After a 3007 rate close, stay this far below the lookahead the service refused. */
const RATE_SAFETY = 0.8;
/** A closing socket is destroyed after 2 s (V3Session.close); a pause waits that long at most. */
const CLOSE_WAIT_MS = 2500;

export class TranscriptionStream {
  readonly backlog: AudioBacklog;
  private readonly turns: TurnTracker;
  private current: SessionContext | undefined;
  private state: StreamState = 'connecting';
  private readonly abort = new AbortController();
  private committedMs = 0;
  private openTurnStartMs: number | undefined;
  private pumpTimer: NodeJS.Timeout | undefined;
  private finishing = false;
  private connecting = false;
  /** The connection being opened, and how to abandon it (a pause). */
  private connection: Promise<void> = Promise.resolve();
  private attempt: AbortController | undefined;
  private paused = false;
  /** Ending the session for a pause; settled once it is closed. */
  private pausing: Promise<void> = Promise.resolve();
  private lookaheadMs: number;
  private quickFailures = 0;
  private lastSeq = -1;
  private changed: (() => void) | undefined;
  private failure: TranscriberError | undefined;
  private formatTurns: boolean;
  /** UpdateConfiguration values sent so far: every later session gets them too. */
  private readonly liveUpdates: Record<string, unknown> = {};
  readonly stats: StreamStats = {
    framesIn: 0, framesSent: 0, framesReplayed: 0, chunksSent: 0, bytesSent: 0, sessions: 0,
    reconnects: 0, turnsFinal: 0, droppedUnsent: 0, droppedUnconfirmed: 0, framesLost: 0, framesMissing: 0, framesPaused: 0,
    rollovers: 0, rateLimited: 0, lookaheadMs: 0, peakBufferedBytes: 0, unsentMs: 0,
  };
  /** Frames up to this seq were sent at least once; sending them again is a replay. */
  private highestSentSeq = -1;
  /** What finish() could not get transcribed. */
  private readonly lostAtEnd = { unsent: 0, unconfirmed: 0 };

  constructor(private readonly options: StreamOptions) {
    const maxChunkSamples = Math.floor((options.sampleRate * MAX_CHUNK_MS) / 1000);
    this.backlog = new AudioBacklog(options.frameSamples, options.sampleRate, options.bufferSeconds, maxChunkSamples);
    this.turns = new TurnTracker(options.pipeline, options.label, options.speakers);
    this.formatTurns = options.formatTurns;
    this.lookaheadMs = options.lookaheadMs;
  }

  get failed(): TranscriberError | undefined {
    return this.failure;
  }

  /** Starts connecting; audio pushed meanwhile waits in the backlog. */
  start(): void {
    void this.connect();
  }

  /** A frame was appended to the backlog (see AudioBacklog.borrow/append). */
  frameAdded(seq: number): void {
    this.stats.framesIn++;
    if (seq > this.lastSeq + 1) this.stats.framesMissing += seq - this.lastSeq - 1;
    this.lastSeq = seq;
    this.pump();
  }

  /** A frame captured while paused was discarded: its audio is skipped on purpose, not missing. */
  framePaused(seq: number): void {
    this.stats.framesPaused++;
    this.lastSeq = seq;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Stops transcribing: the audio appended so far is sent and the session
   * ended with Terminate (its last turn reaches onEvent), a connection being
   * opened is abandoned, and none is opened until resume(). The caller
   * discards frames meanwhile (framePaused). False when already paused or finishing.
   */
  pause(): boolean {
    if (this.paused || this.finishing || this.abort.signal.aborted) return false;
    this.paused = true;
    this.attempt?.abort();
    // After a pause still ending its session (paused, resumed and paused again): one at a time.
    this.pausing = this.pausing.then(() => this.endSessionForPause());
    return true;
  }

  /** Transcribes again from the next frame on, in a new session. False when not paused or finishing. */
  resume(): boolean {
    if (!this.paused || this.finishing || this.abort.signal.aborted) return false;
    this.paused = false;
    this.options.logger.info({ pipeline: this.options.pipeline }, 'resumed: opening a new transcriber session');
    // Once the paused session is closed and an abandoned attempt has unwound (a resume may come before either).
    void Promise.all([this.pausing, this.connection]).then(() => {
      if (this.paused || this.current || this.finishing || this.abort.signal.aborted) return;
      this.setState('connecting');
      void this.connect();
    });
    return true;
  }

  private async endSessionForPause(): Promise<void> {
    const requestedAt = monotonicMs();
    const context = this.current;
    const session = context?.session;
    if (!context || !session?.isOpen || context.ending) {
      this.enterPaused(requestedAt, undefined);
      return;
    }
    this.setState('pausing', session.id);
    // What was captured before the pause is sent (short chunks flushed), then Terminate finalises the open turn.
    while (this.paused && session.isOpen && this.backlog.unsentFrames > 0 && !this.abort.signal.aborted) {
      this.pump();
      if (this.backlog.unsentFrames > 0) await sleep(20);
    }
    if (!this.paused) {
      // Resumed before the session was ended: it goes on streaming.
      if (session.isOpen) this.setState('streaming', session.id);
      return;
    }
    let terminated = false;
    if (session.isOpen && !this.abort.signal.aborted) {
      context.ending = true;
      terminated = (await session.terminate(this.options.terminationTimeoutMs)) !== undefined;
      // Closed means closed: the close handshake (bounded by the session's own close) before any next session.
      if (context.closeError === undefined) {
        const bound = new AbortController();
        await Promise.race([new Promise<void>((resolve) => (context.onClosed = resolve)), sleep(CLOSE_WAIT_MS, bound.signal)]);
        bound.abort();
      }
    }
    if (terminated) {
      // Termination: everything the session was sent is transcribed.
      const endMs = context.timeline.pipelineEndMs;
      if (endMs !== undefined && endMs > this.committedMs) {
        this.committedMs = endMs;
        this.backlog.commit(this.msToSample(endMs));
      }
      this.backlog.settleUnconfirmedDrops(true);
      this.openTurnStartMs = undefined;
    }
    // Otherwise what it was not confirmed stays in the backlog, replayed into the session resume() opens.
    if (this.current === context) this.current = undefined;
    this.enterPaused(requestedAt, { id: session.id, terminated });
  }

  private enterPaused(requestedAt: number, ended: { id: string; terminated: boolean } | undefined): void {
    if (!this.paused || this.finishing || this.abort.signal.aborted || this.state === 'paused') return;
    this.setState('paused');
    const fields = {
      pipeline: this.options.pipeline,
      pause_ms: Math.round(monotonicMs() - requestedAt),
      ...(ended ? { session_id: ended.id, terminated: ended.terminated } : {}),
      held_frames: this.backlog.size,
    };
    const how = !ended ? 'no session was open' : ended.terminated ? 'its session ended with its last turn' : 'its session ended without Termination; what it did not confirm is replayed on resume';
    this.options.logger.info(fields, `paused (${how}); captured audio is discarded until resumed`);
  }

  forceEndpoint(): void {
    this.current?.session?.forceEndpoint();
  }

  /** Changes live parameters now and in every later session (the caller checks them: checkConfigurationUpdate). */
  updateConfiguration(params: Record<string, unknown>): void {
    Object.assign(this.liveUpdates, params);
    if (typeof params.format_turns === 'boolean') this.formatTurns = params.format_turns;
    if (this.current) this.current.formatTurns = this.formatTurns;
    this.current?.session?.updateConfiguration(params);
  }

  /**
   * Sends everything left, ends the session with Terminate and waits for its
   * last turns. If the transcriber is unreachable it keeps trying until the
   * signal aborts; whatever was never sent is reported as lost.
   */
  async finish(signal: AbortSignal): Promise<void> {
    this.finishing = true;
    signal.addEventListener('abort', () => this.abort.abort(), { once: true });
    if (this.paused) {
      await this.pausing;
      // Audio from before the pause that no session confirmed (it came while disconnected) still goes out.
      if (this.backlog.size > 0 && !this.current) void this.connect();
    }
    let terminated = false;
    while (!this.abort.signal.aborted && !this.failure) {
      const context = this.current;
      if (this.paused && this.backlog.size === 0 && !context?.session?.isOpen) {
        terminated = true; // paused with everything transcribed: nothing to send or wait for
        break;
      }
      if (context?.session?.isOpen) {
        this.pump();
        if (this.backlog.unsentFrames === 0) {
          this.setState('finishing', context.session.id);
          context.ending = true;
          terminated = (await context.session.terminate(this.options.terminationTimeoutMs)) !== undefined;
          const broke = context.closeError;
          if (terminated || !broke || broke.permanent) break;
          // The connection broke before the last turns came: a new session is replayed the audio they cover.
          this.options.logger.warn({ pipeline: this.options.pipeline, error: describe(broke) }, 'the connection broke while ending the session; replaying the end into a new session');
          this.stats.reconnects++;
          void this.connect();
        }
      }
      await this.nextChange(250);
    }
    this.reportLoss(terminated);
    this.stop();
    if (!this.failure) this.setState('ended');
  }

  /** At the end: audio never sent, and audio sent but never answered for (no Termination came), is said to be missing. */
  private reportLoss(terminated: boolean): void {
    const unsent = this.backlog.unsentFrames;
    const unconfirmed = terminated ? 0 : this.backlog.size - unsent;
    this.backlog.settleUnconfirmedDrops(terminated);
    this.lostAtEnd.unsent = unsent;
    this.lostAtEnd.unconfirmed = unconfirmed;
    if (unsent === 0 && unconfirmed === 0) return;
    const seconds = (frames: number): number => Math.round(((frames * this.options.frameSamples) / this.options.sampleRate) * 10) / 10;
    const parts = [
      ...(unsent > 0 ? [`${seconds(unsent)} s never sent to the transcriber`] : []),
      ...(unconfirmed > 0 ? [`${seconds(unconfirmed)} s sent but never confirmed (the session ended before its last turns came)`] : []),
    ];
    this.options.logger.error(
      { pipeline: this.options.pipeline, frames_unsent: unsent, frames_unconfirmed: unconfirmed, seconds_unsent: seconds(unsent), seconds_unconfirmed: seconds(unconfirmed) },
      `stopping with audio missing from the transcript: ${parts.join('; ')}`,
    );
  }

  /** Stops at once: no more sends or reconnects. */
  stop(): void {
    this.abort.abort();
    clearTimeout(this.pumpTimer);
    this.current?.session?.close();
    this.wake();
  }

  snapshotStats(): StreamStats {
    const backlog = this.backlog.stats;
    this.stats.droppedUnconfirmed = backlog.droppedUnconfirmed;
    this.stats.droppedUnsent = backlog.droppedUnsent + this.lostAtEnd.unsent;
    this.stats.framesLost = backlog.droppedUnsent + backlog.lostUnconfirmed + this.lostAtEnd.unsent + this.lostAtEnd.unconfirmed;
    this.stats.lookaheadMs = this.lookaheadMs;
    this.stats.unsentMs = Math.round((this.backlog.unsentSamples * 1000) / this.options.sampleRate);
    return { ...this.stats };
  }

  // ------------------------------------------------------------------ sessions

  /**
   * Opens the next session (one attempt at a time) and makes it current. While
   * it connects, the current session, if there is one, goes on streaming (a rollover).
   */
  private connect(): Promise<void> {
    if (this.connecting || this.abort.signal.aborted || (this.paused && !this.finishing)) return this.connection;
    this.connecting = true;
    this.connection = this.openNextSession().finally(() => {
      this.connecting = false;
    });
    return this.connection;
  }

  private async openNextSession(): Promise<void> {
    const { reconnect, logger } = this.options;
    const maxAttempts = reconnect.max_attempts > 0 ? reconnect.max_attempts : Infinity;
    // Stopping the stream or pausing it abandons the attempt, backoff waits included.
    const attempt = new AbortController();
    this.attempt = attempt;
    const signal = AbortSignal.any([this.abort.signal, attempt.signal]);
    const context: SessionContext = {
      timeline: new SessionTimeline(),
      formatTurns: this.formatTurns,
      startedAt: 0,
      ending: false,
      superseded: false,
      deliveredFinal: false,
      sendLog: [],
      lifetimeMs: Infinity,
      expiresAt: Infinity,
    };
    const listeners: SessionListeners = {
      turn: (turn) => this.onTurn(context, turn),
      closed: (error) => this.onSessionClosed(context, error),
      message: (message) => {
        if (message.type === 'SpeakerRevision') this.onSpeakerRevision(context, message as SpeakerRevisionMessage);
        else logger.debug({ pipeline: this.options.pipeline, message_type: message.type }, 'transcriber message');
      },
    };
    try {
      const session = await firstValueFrom(
        defer(() => this.options.connect(listeners, signal)).pipe(
          retry({
            count: Math.max(0, maxAttempts - 1),
            delay: (error: unknown, retryCount: number) => {
              if (signal.aborted || (error instanceof TranscriberError && error.permanent)) {
                return throwError(() => error);
              }
              const delay = backoffDelay(retryCount - 1 + this.quickFailures, {
                initialDelayMs: reconnect.initial_delay_ms,
                maxDelayMs: reconnect.max_delay_ms,
              });
              if (!this.current) this.options.onStatus({ state: 'reconnecting', error: describe(error), retryInMs: delay });
              // Expected trouble: the reason, not a stack trace.
              logger.warn({ pipeline: this.options.pipeline, error: describe(error), retry_in_ms: delay, attempt: retryCount }, `transcriber connection failed (${describe(error)?.message ?? 'unknown'}); retrying in ${delay} ms`);
              return abortableTimer(delay, signal);
            },
          }),
        ),
      );
      if (signal.aborted) {
        session.close();
        return;
      }
      this.startSession(context, session);
    } catch (error) {
      if (signal.aborted && !(error instanceof TranscriberError && error.permanent)) return;
      this.fail(error instanceof TranscriberError ? error : new TranscriberError(String((error as Error).message ?? error), false));
    }
  }

  private startSession(context: SessionContext, session: TranscriptionSession): void {
    const previous = this.current;
    if (previous?.session?.isOpen) {
      if (this.finishing) {
        // Ending: the current session gets the last audio and Terminate; a new one is not needed.
        session.close();
        return;
      }
      // A rollover: the old session stops here; what it had not confirmed is replayed below.
      previous.superseded = true;
      this.stats.rollovers++;
      void previous.session.terminate(this.options.terminationTimeoutMs);
    }
    context.session = session;
    context.startedAt = monotonicMs();
    context.lifetimeMs = session.begin.expires_at * 1000 - Date.now();
    context.expiresAt = context.startedAt + context.lifetimeMs;
    this.current = context;
    this.stats.sessions++;
    if (Object.keys(this.liveUpdates).length > 0) session.updateConfiguration({ ...this.liveUpdates });
    // Replay from the start of the turn that was open, or the last confirmed point.
    const replayFromMs = Math.max(0, this.openTurnStartMs !== undefined ? Math.min(this.committedMs, this.openTurnStartMs - REPLAY_PAD_MS) : this.committedMs);
    this.openTurnStartMs = undefined;
    this.backlog.rewind(this.msToSample(replayFromMs));
    this.setState('streaming', session.id);
    this.options.logger.info(
      { pipeline: this.options.pipeline, session_id: session.id, replay_from_ms: replayFromMs, ...(previous?.superseded ? { replaces: previous.session?.id } : {}) },
      previous?.superseded ? 'transcriber session started; ending the one it replaces (rollover)' : 'transcriber session started',
    );
    this.pump();
  }

  private onSessionClosed(context: SessionContext, error: TranscriberError | null): void {
    context.closeError = error;
    context.onClosed?.();
    this.wake();
    // A superseded session, or one opened too late to be used, is nobody's concern any more.
    if (context !== this.current) return;
    this.current = undefined;
    if (context.ending || this.abort.signal.aborted) return;
    if (error?.permanent) {
      this.fail(error);
      return;
    }
    const lived = monotonicMs() - context.startedAt;
    if (error?.code === 3007) this.slowDown(error);
    this.quickFailures = lived < QUICK_FAILURE_MS && !context.deliveredFinal ? this.quickFailures + 1 : 0;
    const maxAttempts = this.options.reconnect.max_attempts;
    if (maxAttempts > 0 && this.quickFailures >= maxAttempts) {
      this.fail(error ?? new TranscriberError('the transcriber kept closing sessions right after opening them', true));
      return;
    }
    this.stats.reconnects++;
    this.options.logger.warn(
      { pipeline: this.options.pipeline, session_id: context.session?.id, error: error ? describe(error) : undefined, session_lived_ms: Math.round(lived) },
      `transcriber session ended unexpectedly: ${error ? error.message : 'closed without Termination; reconnecting'}`,
    );
    this.setState('reconnecting');
    void this.connect();
  }

  /** The service refused audio sent ahead of real time: send less ahead from now on. */
  private slowDown(error: TranscriberError): void {
    this.stats.rateLimited++;
    const excess = rateExcessMs(error.details.reason ?? '');
    // The chunk that crossed the limit may have carried it up to MAX_CHUNK_MS past it.
    const next = excess !== undefined ? Math.floor(Math.max(0, excess - MAX_CHUNK_MS) * RATE_SAFETY) : Math.floor(this.lookaheadMs / 2);
    this.lookaheadMs = Math.max(0, Math.min(this.lookaheadMs, next));
    this.options.logger.warn(
      { pipeline: this.options.pipeline, lookahead_ms: this.lookaheadMs },
      `the transcriber refused audio sent faster than real time; from now on at most ${this.lookaheadMs} ms is sent ahead of real time`,
    );
  }

  /** Near its end a session is replaced: at a turn boundary, or mid-turn when time runs short. */
  private rolloverDue(context: SessionContext): boolean {
    if (this.finishing || this.connecting) return false;
    const remainingMs = context.expiresAt - monotonicMs();
    const margin = Math.min(ROLLOVER_MARGIN_MS, context.lifetimeMs / 4);
    return remainingMs < margin && (this.openTurnStartMs === undefined || remainingMs < margin / 4);
  }

  // ------------------------------------------------------------------ turns

  private onTurn(context: SessionContext, turn: TurnMessage): void {
    if (context.superseded) return;
    const sessionId = context.session?.id ?? 'unknown';
    const outcome = this.turns.accept(turn, sessionId, context.timeline, context.formatTurns);
    if (outcome.committedToMs !== undefined) {
      context.deliveredFinal = true;
      this.stats.turnsFinal++;
      this.quickFailures = 0;
      this.committedMs = Math.max(this.committedMs, outcome.committedToMs);
      this.backlog.commit(this.msToSample(this.committedMs));
    }
    if (context === this.current) this.openTurnStartMs = outcome.closed ? undefined : outcome.openTurnStartMs;
    if (outcome.event) this.options.onEvent(outcome.event);
  }

  /** Revisions name turns of the session that sends them, superseded or not: their finals were delivered. */
  private onSpeakerRevision(context: SessionContext, message: SpeakerRevisionMessage): void {
    if (!Array.isArray(message.revisions)) {
      this.options.logger.warn({ pipeline: this.options.pipeline, session_id: context.session?.id }, 'ignoring a SpeakerRevision without a revisions list');
      return;
    }
    const sessionId = context.session?.id ?? 'unknown';
    const { event, skipped } = this.turns.revise(message, sessionId, context.timeline);
    if (skipped.length > 0) {
      this.options.logger.info(
        { pipeline: this.options.pipeline, session_id: sessionId, skipped },
        'speaker revision of turns never delivered (or delivered too long ago to be remembered) skipped',
      );
    }
    if (event) this.options.onRevision?.(event);
  }

  // ------------------------------------------------------------------ sending

  /** Sends what may be sent now; schedules itself when pacing or the socket holds it back. */
  private pump(): void {
    const context = this.current;
    const session = context?.session;
    // A session being ended (Terminate sent) takes no more audio.
    if (!context || context.ending || !session?.isOpen || this.abort.signal.aborted) return;
    const { sampleRate } = this.options;
    const minSamples = Math.ceil((sampleRate * MIN_CHUNK_MS) / 1000);
    const maxSocketBytes = MAX_SOCKET_BUFFER_SECONDS * sampleRate * 2;
    for (;;) {
      const buffered = session.bufferedAmount;
      if (buffered > this.stats.peakBufferedBytes) this.stats.peakBufferedBytes = buffered;
      if (buffered > maxSocketBytes) return this.schedulePump(50);
      const chunk = this.backlog.nextChunk(minSamples, this.finishing || this.paused);
      if (!chunk) break;
      const chunkMs = (chunk.samples.length * 1000) / sampleRate;
      const elapsed = monotonicMs() - context.startedAt;
      const ahead = context.timeline.sentMs + chunkMs - (elapsed + this.lookaheadMs);
      if (ahead > 0) return this.schedulePump(Math.ceil(ahead));
      this.send(context, session, chunk.samples, chunk.startSample);
      this.backlog.markSent(chunk);
      this.noteSent(chunk.frames);
    }
    this.confirmQuietAudio(context);
    if (this.rolloverDue(context)) {
      this.options.logger.info({ pipeline: this.options.pipeline, session_id: session.id }, 'the session nears its maximum duration: opening the next one');
      void this.connect();
    }
  }

  private send(context: SessionContext, session: TranscriptionSession, samples: Int16Array, startSample: number): void {
    const { sampleRate } = this.options;
    const minSamples = Math.ceil((sampleRate * MIN_CHUNK_MS) / 1000);
    let payload = samples;
    if (samples.length < minSamples) {
      // The service rejects chunks under 50 ms: pad the last one with silence.
      payload = new Int16Array(minSamples);
      payload.set(samples);
    }
    // ws copies (masks) the bytes synchronously (no compression), so the backlog may reuse the buffer.
    session.sendAudio(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength));
    const audioMs = (samples.length * 1000) / sampleRate;
    context.timeline.recordSent((startSample * 1000) / sampleRate, audioMs);
    if (payload !== samples) context.timeline.recordPadding(((payload.length - samples.length) * 1000) / sampleRate);
    context.sendLog.push({ at: monotonicMs(), pipelineEndMs: (startSample * 1000) / sampleRate + audioMs });
    this.stats.chunksSent++;
    this.stats.bytesSent += payload.byteLength;
  }

  private noteSent(frames: { seq: number; captureTimeMs: number }[]): void {
    const now = monotonicMs();
    for (const frame of frames) {
      if (frame.seq <= this.highestSentSeq) {
        this.stats.framesReplayed++;
        continue;
      }
      this.highestSentSeq = frame.seq;
      this.stats.framesSent++;
      this.options.onFrameSent?.(now - frame.captureTimeMs);
    }
  }

  /**
   * With no turn open, audio sent more than confirmAfterMs ago held no speech
   * the service is still working on: it needs no replay.
   */
  private confirmQuietAudio(context: SessionContext): void {
    if (!Number.isFinite(this.options.confirmAfterMs)) return;
    const horizon = monotonicMs() - this.options.confirmAfterMs;
    let confirmTo: number | undefined;
    while (context.sendLog.length > 0 && (context.sendLog[0] as SendRecord).at <= horizon) {
      confirmTo = (context.sendLog.shift() as SendRecord).pipelineEndMs;
    }
    if (confirmTo === undefined || this.openTurnStartMs !== undefined) return;
    if (confirmTo > this.committedMs) {
      this.committedMs = confirmTo;
      this.backlog.commit(this.msToSample(confirmTo));
    }
  }

  private schedulePump(delayMs: number): void {
    if (this.pumpTimer) return;
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, delayMs);
  }

  // ------------------------------------------------------------------ helpers

  private fail(error: TranscriberError): void {
    if (this.failure) return;
    this.failure = error;
    this.options.logger.error({ pipeline: this.options.pipeline, err: error }, `transcriber failed permanently: ${error.message}`);
    this.options.onStatus({ state: 'failed', error: describe(error) });
    this.state = 'failed';
    this.stop();
  }

  private setState(state: StreamState, sessionId?: string): void {
    this.state = state;
    this.options.onStatus({ state, ...(sessionId ? { sessionId } : {}) });
  }

  private msToSample(ms: number): number {
    return Math.floor((ms * this.options.sampleRate) / 1000);
  }

  private nextChange(timeoutMs: number): Promise<void> {
    return Promise.race([
      new Promise<void>((resolve) => {
        this.changed = resolve;
      }),
      sleep(timeoutMs),
    ]);
  }

  private wake(): void {
    const changed = this.changed;
    this.changed = undefined;
    changed?.();
  }

  get currentState(): StreamState {
    return this.state;
  }
}

/** Emits after delayMs, or errors at once when the signal aborts (a retry's backoff that a pause or stop cuts short). */
function abortableTimer(delayMs: number, signal: AbortSignal): Observable<0> {
  return new Observable<0>((subscriber) => {
    const onAbort = (): void => subscriber.error(signal.reason);
    const timeout = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      subscriber.next(0);
      subscriber.complete();
    }, delayMs);
    signal.addEventListener('abort', onAbort, { once: true });
    return () => {
      clearTimeout(timeout);
      signal.removeEventListener('abort', onAbort);
    };
  });
}

function describe(error: unknown): StreamStatus['error'] {
  if (error instanceof TranscriberError) {
    return { name: error.name, message: error.message, permanent: error.permanent, ...(error.code !== undefined ? { code: error.code } : {}) };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, permanent: false };
}
