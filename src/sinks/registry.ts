/** Builds the sinks a pipeline's file asks for, each behind its own SinkActor. */
import type { Logger } from 'pino';
import type { PipelineConfig, SinkConfig } from '../config/schema.js';
import { createConsoleSink } from './console.js';
import { createFileSink } from './file.js';
import { createPluginSink } from './plugin.js';
import { createWebhookSink } from './webhook.js';
import type { Sink, SinkContext } from './sink.js';
import { SinkActor } from './sink-actor.js';

export interface SinkBuildContext {
  pipeline: string;
  baseDir: string;
  stateDir: string;
  logger: Logger;
  pipelineCount: number;
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
    const sink = await createSink(sinkConfig, context, build.pipelineCount);
    actors.push(new SinkActor(name, sink, sinkConfig.queue_events, sinkConfig.queue_policy, logger));
  }
  return actors;
}

async function createSink(config: Exclude<SinkConfig, { type: 'wav' }>, context: SinkContext, pipelineCount: number): Promise<Sink> {
  switch (config.type) {
    case 'console':
      return createConsoleSink(config, { ...context, pipelineCount });
    case 'file':
      return createFileSink(config, context);
    case 'webhook':
      return createWebhookSink(config, context);
    case 'plugin':
      return createPluginSink(config, context);
  }
}
