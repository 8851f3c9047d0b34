/**
 * The file sink: transcripts as text, JSON lines, SRT or WebVTT files.
 *
 * Durability: each event becomes complete records written with one write()
 * call on an O_APPEND descriptor, and write() resolves once the kernel has
 * the bytes (a killed process loses nothing that resolved); flush() fsyncs.
 * A failed write is cut back off the file so the retried record lands whole.
 * Before a file from an earlier run is touched, a torn tail (a write cut short
 * by a kill or a power cut) is removed (see torn-tail.ts).
 *
 * Which file: text and jsonl append to the newest file the template names
 * (`name.jsonl`, or the last of `name-1.jsonl`, `name-2.jsonl` ...), so a
 * day's transcript survives restarts in one file. SRT and VTT times are
 * positions in this run's audio, so they always start a new file (`-1`, `-2`
 * added when the name is taken); the earlier file is repaired and left.
 * Rotation (by size, by time, or when `{session}` changes) opens the file the
 * template names next, never one that exists; SRT numbering restarts and the
 * VTT header is written in each file.
 */
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FileSink as FileSinkSchema, type CueOptionsConfig, type FileSinkConfig } from '../config/schema.js';
import type { SpeakerRevisionEvent, TranscriptEvent } from '../model/transcript.js';
import { SinkConfigError, SinkIoError } from './errors.js';
import { cueLimits, createFormatter, type CueLimits, type RecordFormatter } from './formats/index.js';
import { resolveOptions } from './options.js';
import { candidatePaths, checkTemplate, resolveTemplate, usesVariable } from './path-template.js';
import type { Sink, SinkContext } from './sink.js';
import { repairTornTail } from './torn-tail.js';

/** The options as written: any key may be left to its default, inside `cues` too. */
export type FileSinkOptions = Partial<Omit<FileSinkConfig, 'cues'>> & { cues?: Partial<CueOptionsConfig> };

export interface FileSinkDeps {
  /** Wall clock for templates and time rotation (tests pass their own). */
  now?: () => Date;
}

interface OpenFile {
  fh: FileHandle;
  path: string;
  size: number;
  headerBytes: number;
  openedAt: number;
  session: string | undefined;
  formatter: RecordFormatter;
}

export function createFileSink(options: FileSinkOptions, context: SinkContext, deps: FileSinkDeps = {}): FileSink {
  return new FileSink(options, context, deps);
}

export class FileSink implements Sink {
  private readonly options: FileSinkConfig;
  private readonly now: () => Date;
  private readonly perSession: boolean;
  private readonly cues: CueLimits;
  private current: OpenFile | undefined;
  /** Every call runs after the one before, whoever calls (write, flush, stop). */
  private queue: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly opened: string[] = [];

  constructor(options: FileSinkOptions, private readonly context: SinkContext, deps: FileSinkDeps = {}) {
    this.options = resolveOptions(FileSinkSchema, { ...options, type: 'file' }, context.name);
    checkTemplate(this.options.path, ['pipeline', 'label', 'date', 'time', 'session'], context.name);
    if (this.options.partials && this.options.format !== 'jsonl') {
      throw new SinkConfigError(context.name, 'partials', `partial turns can only be written as jsonl, not ${this.options.format}; remove partials or use format: jsonl`);
    }
    this.cues = cueLimits(this.options.cues);
    if (this.cues.minDurationMs > this.cues.maxDurationMs) {
      throw new SinkConfigError(context.name, 'cues.min_duration_ms', `${this.cues.minDurationMs} is more than cues.max_duration_ms (${this.cues.maxDurationMs})`);
    }
    this.now = deps.now ?? (() => new Date());
    this.perSession = usesVariable(this.options.path, 'session');
  }

  /** The file being written, once one is open. */
  get path(): string | undefined {
    return this.current?.path;
  }

  /** Every file this sink opened, in order. */
  get files(): readonly string[] {
    return this.opened;
  }

  /** Opens the file now, unless its name needs the first event's session. */
  start(): Promise<void> {
    return this.serially(async () => {
      if (!this.perSession) await this.openNext(undefined, false);
    });
  }

  write(event: TranscriptEvent): Promise<void> {
    return this.serially(async () => {
      if (this.stopped) throw new SinkIoError(this.context.name, this.options.path, 'write after stop');
      if (!event.final && !this.options.partials) return;
      await this.writeRecord(event.session_id, (formatter) => formatter.format(event));
    });
  }

  /** jsonl writes the revision as a line of its own; text and subtitles keep what they wrote. */
  revise(event: SpeakerRevisionEvent): Promise<void> {
    return this.serially(async () => {
      if (this.stopped) throw new SinkIoError(this.context.name, this.options.path, 'write after stop');
      if (this.options.format !== 'jsonl') return;
      await this.writeRecord(event.session_id, (formatter) => formatter.revise?.(event) ?? '');
    });
  }

  flush(): Promise<void> {
    return this.serially(async () => {
      if (this.current) await this.current.fh.datasync().catch((err: Error) => this.fail('cannot sync', err));
    });
  }

  stop(): Promise<void> {
    return this.serially(async () => {
      this.stopped = true;
      await this.closeCurrent();
    });
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** One event's records, in the file its session and the rotation rules choose. */
  private async writeRecord(sessionId: string, format: (formatter: RecordFormatter) => string): Promise<void> {
    const rotate = this.options.rotate;
    let file = this.current;
    if (!file || (this.perSession && file.session !== sessionId)) {
      file = await this.openNext(sessionId, file !== undefined);
    } else if (rotate?.max_seconds !== undefined && this.now().getTime() - file.openedAt >= rotate.max_seconds * 1000) {
      file = await this.openNext(sessionId, true);
    }
    let record = Buffer.from(format(file.formatter));
    if (record.length === 0) return;
    if (rotate?.max_bytes !== undefined && file.size > file.headerBytes && file.size + record.length > rotate.max_bytes) {
      file = await this.openNext(sessionId, true);
      record = Buffer.from(format(file.formatter));
    }
    try {
      await this.append(file, record);
    } catch (err) {
      file.formatter.undo();
      throw err;
    }
  }

  /** One write() for the whole record; on failure the file is cut back to where it was. */
  private async append(file: OpenFile, record: Buffer): Promise<void> {
    const before = file.size;
    try {
      let done = 0;
      while (done < record.length) {
        const { bytesWritten } = await file.fh.write(record, done, record.length - done, null);
        done += bytesWritten;
      }
      file.size += record.length;
    } catch (err) {
      await file.fh.truncate(before).catch(() => undefined);
      this.fail('cannot write', err as Error);
    }
  }

  /**
   * Closes the current file and opens the one the template names now.
   * A rotation, or a format on a per-file timeline, needs a file that does not exist yet;
   * otherwise the newest one in the sequence is appended to.
   */
  private async openNext(session: string | undefined, rotating: boolean): Promise<OpenFile> {
    await this.closeCurrent();
    const formatter = createFormatter(
      this.options.format,
      { timestamps: this.options.timestamps, labels: this.options.labels, label: this.context.label },
      this.cues,
    );
    const now = this.now();
    const target = resolveTemplate(this.options.path, { pipeline: this.context.pipeline, label: this.context.label, session, now }, this.context.baseDir);
    await mkdir(dirname(target), { recursive: true }).catch((err: Error) => this.fail('cannot create the directory', err, dirname(target)));
    const fresh = rotating || formatter.timeline;
    const { fh, path, size } = fresh ? await this.openFresh(target, formatter) : await this.openForAppend(target, formatter);
    const header = Buffer.from(formatter.header);
    const file: OpenFile = { fh, path, size, headerBytes: header.length, openedAt: now.getTime(), session, formatter };
    if (size === 0 && header.length > 0) await this.append(file, header);
    this.current = file;
    this.opened.push(path);
    this.context.logger.info({ path, format: this.options.format }, 'transcript file opened');
    return file;
  }

  /** The newest existing file in the template's sequence, repaired, or the template's name. */
  private async openForAppend(target: string, formatter: RecordFormatter): Promise<{ fh: FileHandle; path: string; size: number }> {
    let newest: string | undefined;
    for (const candidate of candidatePaths(target)) {
      if (!(await exists(candidate))) break;
      newest = candidate;
    }
    const path = newest ?? target;
    if (newest) await this.repair(newest, formatter);
    const fh = await open(path, 'a').catch((err: Error) => this.fail('cannot open', err, path));
    const { size } = await fh.stat();
    return { fh, path, size };
  }

  /** The first name in the template's sequence that does not exist; those that do are repaired. */
  private async openFresh(target: string, formatter: RecordFormatter): Promise<{ fh: FileHandle; path: string; size: number }> {
    for (const path of candidatePaths(target)) {
      try {
        return { fh: await open(path, 'ax'), path, size: 0 };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') this.fail('cannot create', err as Error, path);
        await this.repair(path, formatter);
      }
    }
    throw new SinkIoError(this.context.name, target, 'every numbered name for a new file is taken');
  }

  private async repair(path: string, formatter: RecordFormatter): Promise<void> {
    const { removedBytes } = await repairTornTail(path, formatter.recordEnd, formatter.header).catch((err: Error) =>
      this.fail('cannot check the end of', err, path),
    );
    if (removedBytes > 0) {
      this.context.logger.warn({ path, removed_bytes: removedBytes }, 'removed an incomplete record left at the end of the file by an earlier crash');
    }
  }

  private async closeCurrent(): Promise<void> {
    const file = this.current;
    if (!file) return;
    this.current = undefined;
    try {
      await file.fh.datasync();
    } finally {
      await file.fh.close();
    }
  }

  private fail(what: string, err: Error, path = this.current?.path ?? this.options.path): never {
    throw new SinkIoError(this.context.name, path, `${what} the transcript file: ${err.message}`, { cause: err });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
