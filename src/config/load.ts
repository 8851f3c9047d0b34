/**
 * Loading a pipeline file: YAML, ${VAR} interpolation, schema validation with
 * defaults. (Interim version: the located diagnostics replace it.)
 */
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { PipelineFile, type PipelineFileConfig } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(problems.map((p) => `${file}: ${p}`).join('\n'));
  }
}

export async function loadPipelineFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<PipelineFileConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  const problems: string[] = [];
  const interpolated = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}/g, (_m, name: string, _d, fallback?: string) => {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
    if (fallback !== undefined) return fallback;
    problems.push(`environment variable ${name} is not set`);
    return '';
  });
  let data: unknown;
  try {
    data = parse(interpolated);
  } catch (error) {
    throw new ConfigError(file, [(error as Error).message]);
  }
  data = applyDefaults(PipelineFile, data);
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  const validate = ajv.compile<PipelineFileConfig>(PipelineFile);
  if (!validate(data)) {
    for (const e of validate.errors ?? []) problems.push(`${e.instancePath || '/'}: ${e.message ?? 'invalid'}`);
  }
  if (problems.length > 0) throw new ConfigError(file, problems);
  return data as PipelineFileConfig;
}

interface SchemaNode {
  anyOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  default?: unknown;
  const?: unknown;
}

/** Fills defaults, choosing a union's variant by its `type` field. */
function applyDefaults(schema: SchemaNode, value: unknown): unknown {
  if (schema.anyOf && value && typeof value === 'object' && 'type' in value) {
    const variant = schema.anyOf.find((v) => v.properties?.type?.const === (value).type);
    return variant ? applyDefaults(variant, value) : value;
  }
  if (Array.isArray(value) && schema.items) return value.map((item) => applyDefaults(schema.items as SchemaNode, item));
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const object = value as Record<string, unknown>;
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    if (object[key] === undefined && child.default !== undefined) object[key] = structuredClone(child.default);
    if (object[key] !== undefined) object[key] = applyDefaults(child, object[key]);
  }
  const pattern = Object.values(schema.patternProperties ?? {})[0];
  if (pattern) for (const key of Object.keys(object)) object[key] = applyDefaults(pattern, object[key]);
  return object;
}
