/**
 * File sinks that several pipelines write into one file (`me` and `them` in
 * one meeting transcript). Rather than two writers on one file, each with its
 * own idea of the file's size, rotation and torn tail, the pipelines share
 * one FileSink: every record goes through its one queue, so lines never
 * interleave, and rotation sees every byte. Each pipeline holds a handle with
 * its own SinkActor (its own queue and metrics); the file opens with the
 * first handle and closes with the last, so a pipeline restarted by a reload
 * leaves the file open for the others.
 */
import { resolve } from 'node:path';
import { canonicalJson } from '../config/canonical.js';
import { outputIdentity } from '../config/path-template.js';
import type { FileSinkConfig } from '../config/schema.js';
import type { SpeakerRevisionEvent, TranscriptEvent } from '../model/transcript.js';
import { SinkConfigError } from './errors.js';
import { createFileSink, type FileSink } from './file.js';
import type { Sink, SinkContext } from './sink.js';

interface SharedFile {
  readonly sink: FileSink;
  /** The settings every handle must agree on. */
  readonly settings: string;
  readonly users: Set<string>;
  started?: Promise<void>;
}

export class SharedFileSinks {
  private readonly files = new Map<string, SharedFile>();
  /** Files whose last handle is closing them: a new handle waits, then opens afresh. */
  private readonly closing = new Map<string, Promise<void>>();

  /** A sink for one pipeline, writing through the FileSink of the file `config` names. */
  sinkFor(config: FileSinkConfig, context: SinkContext): Sink {
    const key = resolve(context.baseDir, outputIdentity(config.path, context.pipeline, context.label));
    return new SharedFileHandle(this, key, config, context);
  }

  /** How many pipelines write the file now (for tests and logs). */
  usersOf(config: FileSinkConfig, context: Pick<SinkContext, 'baseDir' | 'pipeline' | 'label'>): number {
    return this.files.get(resolve(context.baseDir, outputIdentity(config.path, context.pipeline, context.label)))?.users.size ?? 0;
  }

  /** @internal */
  async acquire(key: string, config: FileSinkConfig, context: SinkContext): Promise<SharedFile> {
    await this.closing.get(key);
    const settings = sharedSettings(config);
    let file = this.files.get(key);
    if (file === undefined) {
      file = { sink: createFileSink(config, context), settings, users: new Set() };
      this.files.set(key, file);
    } else if (file.settings !== settings) {
      throw new SinkConfigError(context.name, 'path', `${key} is written by pipeline ${[...file.users].join(', ')} with other settings; pipelines sharing a file need the same settings`);
    }
    file.users.add(context.pipeline);
    file.started ??= file.sink.start();
    try {
      await file.started;
    } catch (error) {
      await this.release(key, file, context.pipeline);
      throw error;
    }
    return file;
  }

  /** @internal The last user closes the file; the others make what it wrote durable. */
  async release(key: string, file: SharedFile, pipeline: string): Promise<void> {
    file.users.delete(pipeline);
    if (file.users.size > 0) {
      await file.sink.flush();
      return;
    }
    if (this.files.get(key) === file) this.files.delete(key);
    const closed = file.sink.stop();
    const settled = closed.then(
      () => undefined,
      () => undefined,
    );
    this.closing.set(key, settled);
    void settled.then(() => {
      if (this.closing.get(key) === settled) this.closing.delete(key);
    });
    await closed;
  }
}

class SharedFileHandle implements Sink {
  private file: SharedFile | undefined;

  constructor(
    private readonly registry: SharedFileSinks,
    private readonly key: string,
    private readonly config: FileSinkConfig,
    private readonly context: SinkContext,
  ) {}

  async start(): Promise<void> {
    this.file = await this.registry.acquire(this.key, this.config, this.context);
  }

  write(event: TranscriptEvent): Promise<void> {
    if (this.file === undefined) return Promise.reject(new Error(`${this.context.name}: write before start or after stop`));
    return this.file.sink.write(event);
  }

  revise(event: SpeakerRevisionEvent): Promise<void> {
    if (this.file === undefined) return Promise.reject(new Error(`${this.context.name}: revise before start or after stop`));
    return this.file.sink.revise(event);
  }

  async flush(): Promise<void> {
    await this.file?.sink.flush();
  }

  async stop(): Promise<void> {
    const file = this.file;
    this.file = undefined;
    if (file !== undefined) await this.registry.release(this.key, file, this.context.pipeline);
  }
}

/** What two pipelines must agree on to share a file (their names and queues are their own). */
function sharedSettings(config: FileSinkConfig): string {
  const { path: _path, name: _name, queue_events: _events, queue_policy: _policy, ...settings } = config;
  return canonicalJson(settings);
}
