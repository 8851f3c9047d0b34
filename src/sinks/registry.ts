/** Builds the sinks a pipeline's file asks for, each behind its own SinkActor. */
import type { Logger } from 'pino';
import type { PipelineConfig, SinkConfig } from '../config/schema.js';
import { createConsoleSink } from './console.js';
import { createFileSink } from './file.js';
import { createPluginSink, PLUGIN_TIMEOUTS_MS } from './plugin.js';
import type { SharedFileSinks } from './shared-file.js';
import { createWebhookSink } from './webhook.js';
import type { Sink, SinkContext } from './sink.js';
import { SinkActor } from './sink-actor.js';

export interface SinkBuildContext {
  pipeline: string;
  baseDir: string;
  stateDir: string;
  logger: Logger;
  pipelineCount: number;
  /** When given, text and jsonl file sinks write through it, so pipelines naming one file share one writer. */
  sharedFiles?: SharedFileSinks;
  /** Hears the values of plugin options their schema marks secret, before the plugin is created. */
  onSecrets?: (values: readonly string[]) => void;
}

/** Sinks that receive transcript events on the main thread (the wav sink records audio in the worker). */
export async function createSinkActors(config: PipelineConfig, build: SinkBuildContext): Promise<SinkActor[]> {
  const actors: SinkActor[] = [];
  const counts = new Map<string, number>();
  for (const sinkConfig of config.sinks) {
    const index = (counts.get(sinkConfig.type) ?? 0) + 1;
    counts.set(sinkConfig.type, index);
    if (sinkConfig.type === 'wav') continue;
    const name = sinkConfig.name ?? `${sinkConfig.type}#${index}`;
    const logger = build.logger.child({ sink: name });
    const context: SinkContext = {
      pipeline: build.pipeline,
      ...(config.label !== undefined ? { label: config.label } : {}),
      name,
      logger,
      baseDir: build.baseDir,
      stateDir: `${build.stateDir}/${build.pipeline}/${name.replace(/[^A-Za-z0-9_-]/g, '_')}`,
    };
    let sink: Sink;
    try {
      sink = await createSink(sinkConfig, context, build);
    } catch (error) {
      // The pipeline will not start: the plugin threads of the sinks created so far end here.
      await Promise.all(actors.map((actor) => actor.release()));
      throw error;
    }
    actors.push(new SinkActor(name, sink, sinkConfig.queue_events, sinkConfig.queue_policy, logger));
  }
  return actors;
}

async function createSink(config: Exclude<SinkConfig, { type: 'wav' }>, context: SinkContext, build: SinkBuildContext): Promise<Sink> {
  switch (config.type) {
    case 'console':
      return createConsoleSink(config, { ...context, pipelineCount: build.pipelineCount });
    case 'file':
      return build.sharedFiles && (config.format === 'text' || config.format === 'jsonl')
        ? build.sharedFiles.sinkFor(config, context)
        : createFileSink(config, context);
    case 'webhook':
      return createWebhookSink(config, context);
    case 'plugin':
      return createPluginSink(config, context, PLUGIN_TIMEOUTS_MS, build.onSecrets);
  }
}
