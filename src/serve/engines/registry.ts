/**
 * The engines `earshot serve --engine NAME` can run. Adding one is one entry:
 * a loader that turns the command's settings into an EngineFactory.
 */
import type { Logger } from 'pino';
import type { EngineFactory } from '../engine.js';
import { ServeConfigError } from '../serve-config-error.js';
import { createLocalEngine } from './local.js';
import { createScriptEngine, loadScript } from './script.js';

export interface EngineSettings {
  /** --script FILE */
  scriptFile?: string;
  logger: Logger;
}

export type EngineLoader = (settings: EngineSettings) => Promise<EngineFactory>;

export const ENGINES: Readonly<Record<string, EngineLoader>> = {
  script: async ({ scriptFile, logger }) => {
    if (scriptFile === undefined) {
      throw new ServeConfigError('--engine script needs --script FILE (YAML or JSON with a `turns` list)');
    }
    return createScriptEngine(await loadScript(scriptFile), { logger });
  },
  local: ({ logger }) => Promise.resolve(createLocalEngine({ logger })),
};
