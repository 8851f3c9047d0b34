/**
 * earshot's public API for plugin authors: `import type { SinkPlugin } from 'earshot'`.
 * docs/plugins.md describes the contract.
 */
export type {
  PipelineEvent,
  Sink,
  SinkContext,
  SinkFactory,
  SinkPlugin,
  SpeakerRevision,
  SpeakerRevisionEvent,
  TranscriptEvent,
  TranscriptWord,
} from './sinks/sink.js';
export { RetryableSinkError } from './sinks/sink.js';
export { isSpeakerRevision } from './model/transcript.js';
