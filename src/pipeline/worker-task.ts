/**
 * An actor hosted in a worker thread: one long-running piscina task, talked
 * to over its own MessagePort. A task that throws or whose thread dies is a
 * failure its supervisor sees (and may restart); a task that returns has
 * finished its work, once the messages it sent before have been handled.
 */
import { MessageChannel, type MessagePort, type TransferListItem } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import type { Supervisable } from './actor.js';
import { sleep } from './backoff.js';

/** How long a finished task's last messages may take to arrive on our end of the port. */
const LAST_MESSAGES_BOUND_MS = 1000;

export interface WorkerTaskOptions<Out> {
  name: string;
  pool: Piscina;
  /** The task's payload, given the worker's end of the port (transfer it). */
  payload: (port: MessagePort) => { data: unknown; transferList: TransferListItem[] };
  onMessage: (message: Out) => void;
}

export class WorkerTask<In, Out> implements Supervisable {
  readonly name: string;
  private port: MessagePort | undefined;
  private running: Promise<void> | undefined;
  private readonly failureListeners: ((error: Error) => void)[] = [];
  private readonly doneListeners: (() => void)[] = [];

  constructor(private readonly options: WorkerTaskOptions<Out>) {
    this.name = options.name;
  }

  start(): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    port1.on('message', (message: Out) => this.options.onMessage(message));
    const closed = new Promise<void>((resolve) => port1.once('close', resolve));
    const { data, transferList } = this.options.payload(port2);
    const run = this.options.pool.run(data, { transferList });
    this.running = run.then(
      async () => {
        // The task's result comes on piscina's port; its last messages may still be queued on ours, and
        // its closing our port comes after them. (A task that never closes it gets a short bound.)
        await Promise.race([closed, sleep(LAST_MESSAGES_BOUND_MS)]);
        for (const listener of this.doneListeners) listener();
      },
      (error: unknown) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        for (const listener of this.failureListeners) listener(failure);
      },
    );
    return Promise.resolve();
  }

  /** Sends a message to the task; ignored when it is not running. */
  post(message: In): void {
    this.port?.postMessage(message);
  }

  /** Resolves when the current run settles (finished or failed). */
  async settled(): Promise<void> {
    await this.running;
  }

  stop(): Promise<void> {
    return this.settled();
  }

  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  onDone(listener: () => void): void {
    this.doneListeners.push(listener);
  }

  /** Closes our end of the port (after the task finished). */
  close(): void {
    this.port?.close();
    this.port = undefined;
  }
}
