/** Minimal JSONL transcript file (the full file sink, with every format and rotation, replaces it). */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { FileSinkConfig } from '../config/schema.js';
import type { Sink, SinkContext } from './sink.js';

export function createFileSink(options: FileSinkConfig, context: SinkContext): Sink {
  let handle: FileHandle | undefined;
  const path = resolve(context.baseDir, options.path.replaceAll('{pipeline}', context.pipeline).replaceAll('{date}', new Date().toISOString().slice(0, 10)));
  return {
    async start() {
      await mkdir(dirname(path), { recursive: true });
      handle = await open(path, 'a');
    },
    async write(event) {
      if (!event.final && !options.partials) return;
      await handle?.write(JSON.stringify(event) + '\n');
    },
    async flush() {
      await handle?.sync();
    },
    async stop() {
      await handle?.sync();
      await handle?.close();
      handle = undefined;
    },
  };
}
