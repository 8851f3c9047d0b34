/**
 * The pipeline file's JSON Schema for editors (yaml-language-server and
 * friends: completion, hover docs, red squiggles while typing). Derived from
 * the TypeBox schema with two changes for people editing by hand: keys that
 * have defaults are not required, and a number or boolean may be written as a
 * `${VAR}` reference, since the loader expands it before validating. And
 * `params:` lists the v3 connection parameters, which the loader checks in
 * code (check-params.ts), so editors can complete them.
 */
import { PipelineFile } from './schema.js';
import { CONNECTION_PARAMS, type ParamSpec } from '../transport/protocol.js';

/** Where the committed copy lives, relative to the package root. */
export const SCHEMA_FILE = 'schema/pipeline-file.schema.json';

type SchemaNode = Record<string, unknown>;

const ENV_REFERENCE: SchemaNode = {
  type: 'string',
  pattern: '^\\$\\{[A-Za-z_][A-Za-z0-9_]*(?:(?::-|-|:\\?|\\?)[^}]*)?\\}$',
  description: 'An environment variable reference, expanded when the file is loaded.',
};

export function jsonSchema(): SchemaNode {
  const plain = JSON.parse(JSON.stringify(PipelineFile)) as SchemaNode;
  describeParams(plain);
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...(forEditors(plain) as SchemaNode) };
}

/** The committed file's exact text. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(jsonSchema(), null, 2)}\n`;
}

function forEditors(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(forEditors);
  if (node === null || typeof node !== 'object') return node;
  const out: SchemaNode = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, forEditors(v)]));
  if (Array.isArray(out.required) && out.properties !== null && typeof out.properties === 'object') {
    const properties = out.properties as Record<string, SchemaNode>;
    const required = (out.required as string[]).filter((key) => properties[key]?.default === undefined);
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  if ((out.type === 'integer' || out.type === 'number' || out.type === 'boolean') && !('const' in out)) {
    const { description, default: fallback, ...rest } = out;
    return {
      ...(description !== undefined ? { description } : {}),
      ...(fallback !== undefined ? { default: fallback } : {}),
      anyOf: [rest, ENV_REFERENCE],
    };
  }
  return out;
}

/** Set by earshot from the source, so not offered. */
const FROM_SOURCE = new Set(['sample_rate', 'encoding']);

function describeParams(root: SchemaNode): void {
  const pipelines = root.properties as Record<string, SchemaNode>;
  for (const pipeline of Object.values(pipelines.pipelines!.patternProperties as Record<string, SchemaNode>)) {
    const transcriber = (pipeline.properties as Record<string, SchemaNode>).transcriber!;
    for (const variant of transcriber.anyOf as SchemaNode[]) {
      const properties = variant.properties as Record<string, SchemaNode>;
      if (properties.type?.const !== 'assemblyai') continue;
      const params = Object.entries(CONNECTION_PARAMS).filter(([name]) => !FROM_SOURCE.has(name));
      const { patternProperties: _anyName, ...described } = properties.params ?? {};
      properties.params = {
        ...described,
        properties: Object.fromEntries(params.map(([name, spec]) => [name, paramSchema(spec)])),
        additionalProperties: false,
      };
    }
  }
}

function paramSchema(spec: ParamSpec): SchemaNode {
  const range = { ...(spec.min !== undefined ? { minimum: spec.min } : {}), ...(spec.max !== undefined ? { maximum: spec.max } : {}) };
  const description = spec.deprecated !== undefined ? { description: `Deprecated: use ${spec.deprecated}.` } : {};
  switch (spec.kind) {
    case 'int':
      return { type: 'integer', ...range, ...description };
    case 'number':
      return { type: 'number', ...range, ...description };
    case 'bool':
      return { type: 'boolean', ...description };
    case 'string':
      return { type: 'string', ...description };
    case 'string[]':
      return { type: 'array', items: { type: 'string' }, ...description };
    case 'enum':
      return { enum: [...(spec.values ?? [])], ...description };
    case 'json':
      return { type: ['object', 'array'], ...description };
  }
}
