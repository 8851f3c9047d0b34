/**
 * An actor: one stage of a pipeline with a bounded mailbox, a lifecycle
 * (start, drain, stop) and a failure signal its supervisor listens to.
 * Messages are handled one at a time, in order. The framework knows nothing
 * of audio or transcripts; a stage is a subclass.
 */
import { BoundedQueue, type OverflowPolicy } from './bounded-queue.js';

export type ActorState = 'idle' | 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

export interface MailboxOptions<M> {
  capacity: number;
  policy: OverflowPolicy;
  /** Told about each message the policy drops. */
  onDrop?: (message: M) => void;
}

/** What a supervisor needs of a child, whether an in-thread actor or a worker task. */
export interface Supervisable {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  onFailure(listener: (error: Error) => void): void;
}

export abstract class Actor<M> implements Supervisable {
  readonly mailbox: BoundedQueue<M>;
  private currentState: ActorState = 'idle';
  private loop: Promise<void> | undefined;
  private readonly failureListeners: ((error: Error) => void)[] = [];
  private readonly stateListeners: ((state: ActorState) => void)[] = [];

  constructor(
    readonly name: string,
    mailbox: MailboxOptions<M>,
  ) {
    this.mailbox = new BoundedQueue<M>(mailbox.capacity, mailbox.policy, mailbox.onDrop);
  }

  get state(): ActorState {
    return this.currentState;
  }

  /** Queues a message; false when the overflow policy dropped it. Messages told before start wait. */
  tell(message: M): boolean {
    return this.mailbox.push(message);
  }

  /** Starts (or restarts after a failure); messages still queued are handled first. */
  async start(): Promise<void> {
    if (this.currentState === 'running' || this.currentState === 'starting') return;
    this.setState('starting');
    try {
      await this.onStart();
    } catch (error) {
      this.setState('failed');
      throw error;
    }
    this.setState('running');
    this.loop = this.run();
  }

  /** Stops taking messages, handles every queued one, then stops. */
  async drain(): Promise<void> {
    if (this.currentState === 'stopped') return;
    this.setState('draining');
    this.mailbox.close();
    await this.loop;
    await this.finish();
  }

  /** Stops now; queued messages are discarded (and counted as drops). */
  async stop(): Promise<void> {
    if (this.currentState === 'stopped') return;
    this.mailbox.close();
    for (const message of this.mailbox.clear()) this.discard(message);
    await this.loop;
    await this.finish();
  }

  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  onStateChange(listener: (state: ActorState) => void): void {
    this.stateListeners.push(listener);
  }

  /** Called before the first message; throw to refuse to start. */
  protected onStart(): Promise<void> {
    return Promise.resolve();
  }

  protected abstract receive(message: M): Promise<void> | void;

  /** Called once, after the last message. */
  protected onStop(): Promise<void> {
    return Promise.resolve();
  }

  /** A message stop() threw away. */
  protected discard(_message: M): void {
    this.mailbox.dropped++;
  }

  private async run(): Promise<void> {
    for (;;) {
      const message = await this.mailbox.take();
      if (message === undefined) return;
      try {
        await this.receive(message);
      } catch (error) {
        this.setState('failed');
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const listener of this.failureListeners) listener(failure);
        return;
      }
    }
  }

  private async finish(): Promise<void> {
    try {
      await this.onStop();
    } finally {
      this.setState('stopped');
    }
  }

  private setState(state: ActorState): void {
    this.currentState = state;
    for (const listener of this.stateListeners) listener(state);
  }
}
