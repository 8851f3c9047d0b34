/**
 * A FIFO with a fixed capacity and a named overflow policy. Every item the
 * policy throws away is counted and handed to onDrop, so loss is never silent.
 */
export type OverflowPolicy = 'drop_oldest' | 'drop_newest';

export class BoundedQueue<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private length = 0;
  private waiter: (() => void) | undefined;
  private closed = false;
  /** Items thrown away by the overflow policy since creation. */
  dropped = 0;

  constructor(
    readonly capacity: number,
    readonly policy: OverflowPolicy,
    private readonly onDrop?: (item: T) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
    }
    this.items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Adds an item; returns false when the item itself was dropped (drop_newest on a full queue, or closed). */
  push(item: T): boolean {
    if (this.closed) {
      this.drop(item);
      return false;
    }
    if (this.length === this.capacity) {
      if (this.policy === 'drop_newest') {
        this.drop(item);
        return false;
      }
      const oldest = this.shift() as T;
      this.drop(oldest);
    }
    this.items[(this.head + this.length) % this.capacity] = item;
    this.length++;
    this.wake();
    return true;
  }

  /** Puts an item back at the front (a failed delivery to retry first). Never drops it. */
  unshift(item: T): void {
    if (this.length === this.capacity) {
      // Make room at the back: the newest item loses to the one already being handled.
      const lastIndex = (this.head + this.length - 1) % this.capacity;
      this.drop(this.items[lastIndex] as T);
      this.items[lastIndex] = undefined;
      this.length--;
    }
    this.head = (this.head - 1 + this.capacity) % this.capacity;
    this.items[this.head] = item;
    this.length++;
    this.wake();
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.length--;
    return item;
  }

  /** Resolves with the next item, or undefined once the queue is closed and empty. */
  async take(): Promise<T | undefined> {
    for (;;) {
      if (this.length > 0) return this.shift();
      if (this.closed) return undefined;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
    }
  }

  /** No more pushes; take() drains what is queued, then returns undefined. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Removes and returns everything queued. */
  clear(): T[] {
    const all: T[] = [];
    while (this.length > 0) all.push(this.shift() as T);
    return all;
  }

  private drop(item: T): void {
    this.dropped++;
    this.onDrop?.(item);
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
