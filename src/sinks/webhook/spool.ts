/**
 * The webhook sink's disk spool: one file per event, in order.
 *
 * Layout of the spool directory:
 * - `e-<seq>.json`: one event and its webhook id. Written to `.tmp`, fsynced,
 *   renamed, and the directory fsynced, so after append() resolves the event
 *   survives a crash or power cut, and a crash mid-append leaves only a
 *   `.tmp` file, removed on the next open.
 * - `batch.json`: the events of the request being delivered (`first`..`last`)
 *   and its webhook id, fixed before the first attempt so a retry after a
 *   restart sends the same events under the same id. Delivered events are
 *   removed first to last, then this file; an open that finds the batch's
 *   first event gone knows the batch was delivered and finishes the removal.
 * - `lock`: the pid of the process using the spool; a second user is refused.
 *
 * The spool is bounded in bytes; append() reports `full` instead of writing.
 * An entry that cannot be read back is renamed `.corrupt`, reported and
 * skipped, so one bad file never blocks the rest.
 */
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { uptime } from 'node:os';
import { join } from 'node:path';
import type { PipelineEvent } from '../../model/transcript.js';

export interface SpoolEntry {
  seq: number;
  /** The webhook id of this event (its idempotency key). */
  id: string;
  /** A turn, or a speaker revision. */
  event: PipelineEvent;
}

export interface Seal {
  id: string;
  first: number;
  last: number;
  sealed_at: string;
}

interface Slot {
  seq: number;
  bytes: number;
  /** performance.now() when appended by this process; 0 when found on open. */
  appendedAt: number;
}

const ENTRY = /^e-(\d{16})\.json$/;
const SEAL_FILE = 'batch.json';
const LOCK_FILE = 'lock';

/** Spool directories held by this process (the lock file only tells other processes). */
const heldInProcess = new Set<string>();

export type CorruptEntryHandler = (path: string, error: Error) => void;

export class SpoolLockedError extends Error {
  override readonly name = 'SpoolLockedError';
}

export class Spool {
  private readonly slots: Slot[] = [];
  private totalBytes = 0;
  private nextSeq = 0;
  private currentSeal: Seal | undefined;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly dirHandle: FileHandle,
    private readonly onCorrupt: CorruptEntryHandler,
  ) {}

  /** Opens (creating) the spool at `dir`, takes its lock and loads what an earlier run left. */
  static async open(dir: string, maxBytes: number, onCorrupt: CorruptEntryHandler): Promise<Spool> {
    await mkdir(dir, { recursive: true });
    await takeLock(dir);
    let dirHandle: FileHandle | undefined;
    try {
      dirHandle = await open(dir, 'r');
      const spool = new Spool(dir, maxBytes, dirHandle, onCorrupt);
      await spool.load();
      return spool;
    } catch (err) {
      await dirHandle?.close();
      await releaseLock(dir);
      throw err;
    }
  }

  get events(): number {
    return this.slots.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get seal(): Seal | undefined {
    return this.currentSeal;
  }

  /** When the oldest event was appended (performance.now()), 0 if it was found on open. */
  get oldestAppendedAt(): number | undefined {
    return this.slots[0]?.appendedAt;
  }

  /** Durably appends the event, or returns `full` when it would pass the bound. */
  async append(id: string, event: PipelineEvent): Promise<'spooled' | 'full'> {
    const body = Buffer.from(JSON.stringify({ id, event }));
    if (this.totalBytes + body.length > this.maxBytes) return 'full';
    const seq = this.nextSeq++;
    const path = this.entryPath(seq);
    const tmp = `${path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(body);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    await this.dirHandle.sync();
    this.slots.push({ seq, bytes: body.length, appendedAt: performance.now() });
    this.totalBytes += body.length;
    return 'spooled';
  }

  /** The first `count` readable events, oldest first. */
  async head(count: number): Promise<SpoolEntry[]> {
    for (;;) {
      const entries = await this.readAll(this.slots.slice(0, count).map((slot) => slot.seq));
      if (entries) return entries;
    }
  }

  /** The spooled, readable events of the sealed batch. */
  async sealed(seal: Seal): Promise<SpoolEntry[]> {
    for (;;) {
      const entries = await this.readAll(this.slots.filter((s) => s.seq >= seal.first && s.seq <= seal.last).map((s) => s.seq));
      if (entries) return entries;
    }
  }

  async writeSeal(seal: Seal): Promise<void> {
    const path = join(this.dir, SEAL_FILE);
    await writeFile(`${path}.tmp`, JSON.stringify(seal), { flush: true });
    await rename(`${path}.tmp`, path);
    await this.dirHandle.sync();
    this.currentSeal = seal;
  }

  /** Removes events first..last (delivered or given up), oldest first, then the seal if it covered them. */
  async remove(first: number, last: number): Promise<void> {
    for (const slot of this.slots.filter((s) => s.seq >= first && s.seq <= last)) {
      await unlink(this.entryPath(slot.seq)).catch(ignoreMissing);
      this.forget(slot);
    }
    if (this.currentSeal && this.currentSeal.last <= last) {
      await unlink(join(this.dir, SEAL_FILE)).catch(ignoreMissing);
      this.currentSeal = undefined;
    }
    await this.dirHandle.sync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dirHandle.close();
    await releaseLock(this.dir);
  }

  private entryPath(seq: number): string {
    return join(this.dir, `e-${String(seq).padStart(16, '0')}.json`);
  }

  private forget(slot: Slot): void {
    this.slots.splice(this.slots.indexOf(slot), 1);
    this.totalBytes -= slot.bytes;
  }

  /** Reads the entries; undefined when one was unreadable (it is then set aside, so read again). */
  private async readAll(seqs: number[]): Promise<SpoolEntry[] | undefined> {
    const entries: SpoolEntry[] = [];
    for (const seq of seqs) {
      try {
        entries.push(await this.read(seq));
      } catch (err) {
        const path = this.entryPath(seq);
        await rename(path, `${path}.corrupt`).catch(ignoreMissing);
        const slot = this.slots.find((s) => s.seq === seq);
        if (slot) this.forget(slot);
        this.onCorrupt(path, err as Error);
        return undefined;
      }
    }
    return entries;
  }

  private async read(seq: number): Promise<SpoolEntry> {
    const path = this.entryPath(seq);
    const parsed = JSON.parse(await readFile(path, 'utf8')) as { id?: unknown; event?: unknown };
    if (typeof parsed.id !== 'string' || typeof parsed.event !== 'object' || parsed.event === null) {
      throw new Error(`spool entry ${path} has no id or event`);
    }
    return { seq, id: parsed.id, event: parsed.event as PipelineEvent };
  }

  private async load(): Promise<void> {
    const names = await readdir(this.dir);
    const seqs: number[] = [];
    for (const name of names) {
      if (name.endsWith('.tmp')) await unlink(join(this.dir, name)).catch(ignoreMissing);
      const match = ENTRY.exec(name);
      if (match) seqs.push(Number(match[1]));
    }
    seqs.sort((a, b) => a - b);
    for (const seq of seqs) {
      const { size } = await stat(this.entryPath(seq));
      this.slots.push({ seq, bytes: size, appendedAt: 0 });
      this.totalBytes += size;
    }
    this.nextSeq = (seqs[seqs.length - 1] ?? -1) + 1;
    const seal = await readSeal(join(this.dir, SEAL_FILE));
    if (!seal) return;
    this.currentSeal = seal;
    // Removal goes first to last: a missing first event means the batch was delivered.
    if (!seqs.includes(seal.first)) await this.remove(seal.first, seal.last);
  }
}

async function readSeal(path: string): Promise<Seal | undefined> {
  try {
    const seal = JSON.parse(await readFile(path, 'utf8')) as Seal;
    return typeof seal.id === 'string' && Number.isInteger(seal.first) && Number.isInteger(seal.last) ? seal : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function takeLock(dir: string): Promise<void> {
  if (heldInProcess.has(dir)) throw new SpoolLockedError(`spool ${dir} is already used by another sink in this process; give each webhook sink its own spool_dir`);
  const path = join(dir, LOCK_FILE);
  try {
    const holder = Number(await readFile(path, 'utf8'));
    const { mtimeMs } = await stat(path);
    const bootedAt = Date.now() - uptime() * 1000;
    if (Number.isInteger(holder) && holder !== process.pid && mtimeMs > bootedAt && isAlive(holder)) {
      throw new SpoolLockedError(`spool ${dir} is used by process ${holder}; give each earshot its own spool_dir`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await writeFile(path, String(process.pid));
  heldInProcess.add(dir);
}

async function releaseLock(dir: string): Promise<void> {
  heldInProcess.delete(dir);
  await unlink(join(dir, LOCK_FILE)).catch(ignoreMissing);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}
