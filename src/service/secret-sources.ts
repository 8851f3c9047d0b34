/**
 * Every secret value a loaded pipeline file brings, for the log scrubber:
 * the config's own (secretValues: api keys, tokens, webhook secrets,
 * credential headers, URL credentials) and the values of environment
 * variables the file refers to whose names say they are secret
 * (`${MY_TOKEN}` in a field the schema does not mark secret).
 */
import { readFile } from 'node:fs/promises';
import { secretValues, type Env, type LoadedConfig } from '../config/load.js';
import { isSensitiveName } from '../config/secrets.js';

export async function secretsOf(loaded: LoadedConfig, env: Env): Promise<string[]> {
  const text = await readFile(loaded.file, 'utf8').catch(() => '');
  const names = new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1] as string));
  const variables = [...names].filter(isSensitiveName).map((name) => env[name] ?? '');
  return [...secretValues(loaded.config), ...variables];
}
