/**
 * earshot's public API for plugin authors: `import type { SinkPlugin } from 'earshot'`.
 * docs/plugins.md describes the contract.
 */
export type { Sink, SinkContext, SinkFactory, SinkPlugin, TranscriptEvent, TranscriptWord } from './sinks/sink.js';
export { RetryableSinkError } from './sinks/sink.js';
