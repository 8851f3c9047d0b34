/**
 * Validation against the pipeline file schema with Ajv (all errors, defaults
 * applied in place), and the rewriting of Ajv's errors into one message per
 * mistake that a person can act on.
 *
 * Ajv gets the TypeBox schema reshaped: a union of objects told apart by their
 * `type` becomes `oneOf` + `discriminator`, so only the variant the user named
 * is checked (one clean message instead of a pile of anyOf branches) and its
 * defaults are applied; a union of literals becomes an `enum`.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { describeValue, jsonType, literal, typeAccepts, typeName } from './describe.js';
import { formatPath, pointerToPath, type Path } from './path.js';
import { PipelineFile } from './schema.js';
import type { Anchor } from './source-map.js';
import { choice, didYouMean, listWords } from './suggest.js';

type SchemaNode = Record<string, unknown>;

export interface SchemaIssue {
  readonly path: Path;
  readonly anchor: Anchor;
  readonly message: string;
  /** Paths whose values cannot be trusted because of this mistake. */
  readonly unusable: readonly Path[];
}

function isNode(value: unknown): value is SchemaNode {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function variantTag(variant: unknown): unknown {
  if (!isNode(variant) || variant.type !== 'object' || !isNode(variant.properties)) return undefined;
  const tag = variant.properties.type;
  return isNode(tag) ? tag.const : undefined;
}

function isLiteralish(variant: unknown): boolean {
  if (!isNode(variant)) return false;
  const keys = Object.keys(variant).filter((k) => k !== 'type' && k !== 'description');
  return (keys.length === 1 && keys[0] === 'const') || (keys.length === 0 && variant.type === 'boolean');
}

function reshape(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(reshape);
  if (!isNode(node)) return node;
  const out: SchemaNode = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, reshape(v)]));
  const variants = out.anyOf;
  if (!Array.isArray(variants)) return out;
  if (variants.every((v) => typeof variantTag(v) === 'string')) {
    delete out.anyOf;
    return { ...out, type: 'object', oneOf: variants, discriminator: { propertyName: 'type' } };
  }
  if (variants.every(isLiteralish)) {
    delete out.anyOf;
    return { ...out, enum: variants.flatMap((v) => ('const' in (v as SchemaNode) ? [(v as SchemaNode).const] : [true, false])) };
  }
  return out;
}

let validationSchema: SchemaNode | undefined;
let compiled: ValidateFunction | undefined;

/** The schema Ajv validates with (plain JSON, reshaped as described above). */
export function reshapedSchema(): SchemaNode {
  validationSchema ??= reshape(JSON.parse(JSON.stringify(PipelineFile))) as SchemaNode;
  return validationSchema;
}

function validator(): ValidateFunction {
  if (compiled) return compiled;
  const ajv = new Ajv({ allErrors: true, useDefaults: true, discriminator: true, verbose: true, strict: true });
  ajv.addKeyword({ keyword: 'x-secret', schemaType: 'boolean' });
  // WHATWG URL parsing, as `ws` and `fetch` do it.
  ajv.addFormat('uri', { type: 'string', validate: (s: string) => URL.canParse(s) });
  compiled = ajv.compile(reshapedSchema());
  return compiled;
}

export interface SchemaVerdict {
  readonly issues: readonly SchemaIssue[];
  /** Paths whose values cannot be trusted (checks beyond the schema leave them alone). */
  readonly damaged: readonly Path[];
}

/** Validate `data` in place (defaults are inserted) and explain every mistake. */
export function checkSchema(data: unknown): SchemaVerdict {
  const validate = validator();
  if (validate(data)) return { issues: [], damaged: [] };
  const errors = settleUnions(validate.errors ?? []);
  const best = new Map<string, Explained>();
  for (const error of errors) {
    const explained = explain(error, data);
    const current = best.get(explained.group);
    if (current === undefined || explained.rank < current.rank) best.set(explained.group, explained);
  }
  const found = [...best.values()];
  // `sinkz:` reports "unknown key 'sinkz'; did you mean 'sinks'?"; "missing required key 'sinks'" would be the same mistake twice.
  const meant = new Set(found.filter((f) => f.meant !== undefined).map((f) => `required:${formatPath(f.issue.path.slice(0, -1))}:${f.meant}`));
  return {
    issues: found.filter((f) => !meant.has(f.group)).map((f) => f.issue),
    damaged: found.flatMap((f) => f.issue.unusable),
  };
}

/**
 * A plain anyOf (like `device: string | integer`): keep the errors of the
 * branch whose type fits the value, or say which types would do.
 */
function settleUnions(errors: readonly ErrorObject[]): ErrorObject[] {
  const dropped = new Set<ErrorObject>();
  const added: ErrorObject[] = [];
  for (const union of errors.filter((e) => e.keyword === 'anyOf')) {
    const prefix = `${union.schemaPath}/`;
    const branches = (union.schema ?? []) as SchemaNode[];
    const actual = jsonType(union.data);
    const fitting = branches.map((b, i) => (typeAccepts(b.type, actual) ? i : -1)).filter((i) => i >= 0);
    dropped.add(union);
    for (const error of errors) {
      const inside = error.instancePath === union.instancePath || error.instancePath.startsWith(`${union.instancePath}/`);
      if (!inside || !error.schemaPath.startsWith(prefix)) continue;
      const branch = Number(error.schemaPath.slice(prefix.length).split('/')[0]);
      if (fitting.length !== 1 || branch !== fitting[0]) dropped.add(error);
    }
    if (fitting.length !== 1) {
      added.push({ ...union, keyword: 'type', params: { type: branches.map((b) => b.type) } });
    }
  }
  return [...errors.filter((e) => !dropped.has(e)), ...added];
}

interface Explained {
  readonly group: string;
  readonly rank: number;
  readonly issue: SchemaIssue;
  /** A misspelt key: the valid key it was taken for (then that key's "missing" is the same mistake). */
  readonly meant?: string;
}

function explain(error: ErrorObject, data: unknown): Explained {
  const path = pointerToPath(error.instancePath, data);
  const parent = (error.parentSchema ?? {}) as SchemaNode;
  const secret = parent['x-secret'] === true;
  const got = describeValue(error.data, secret);
  const value = (message: string, rank: number): Explained => ({
    group: `value:${formatPath(path)}`,
    rank,
    issue: { path, anchor: 'value', message, unusable: [path] },
  });
  const params = error.params as Record<string, unknown>;

  switch (error.keyword) {
    case 'additionalProperties':
      return unknownKey(path, String(params.additionalProperty), parent, error.schemaPath);
    case 'required': {
      const missing = String(params.missingProperty);
      const hint = path.length === 0 && missing === 'version' ? ' (the first line of a pipeline file is `version: 1`)' : '';
      return {
        group: `required:${formatPath(path)}:${missing}`,
        rank: 0,
        issue: { path, anchor: 'key', message: `missing required key '${missing}'${hint}`, unusable: [[...path, missing]] },
      };
    }
    case 'discriminator':
      return unknownVariant(path, params, parent);
    case 'const':
      return value(`must be ${literal(params.allowedValue)}, got ${got}`, 0);
    case 'enum':
      return value(enumMessage(error.data, (params.allowedValues as unknown[]) ?? []), 0);
    case 'type':
      if (path.length === 0) return value(`a pipeline file is a mapping with \`version: 1\` and \`pipelines:\`, got ${got}`, 1);
      return value(`must be ${typeName(params.type)}, got ${got}${typeHint(error.data, params.type, parent)}`, 1);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return value(`${rangeText(parent)}, got ${got}`, 2);
    case 'minLength':
      return value(params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long`, 2);
    case 'minItems':
      return value(`must list at least ${itemNoun(path, params.limit)}`, 2);
    case 'minProperties':
      return value(
        path.length === 1 && path[0] === 'pipelines' ? 'must define at least one pipeline' : `must have at least ${String(params.limit)} keys`,
        2,
      );
    case 'pattern':
      return value(`${PATTERN_MESSAGES[String(params.pattern)] ?? `must match /${String(params.pattern)}/`}, got ${got}`, 3);
    case 'format':
      return value(`must be ${params.format === 'uri' ? 'a URL' : String(params.format)}, got ${got}`, 4);
    default:
      return value(error.message ?? `fails ${error.keyword}`, 5);
  }
}

const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  '^wss?://': 'must be a ws:// or wss:// URL',
  '^https?://': 'must be an http:// or https:// URL',
};

const PIPELINE_NAME = "may only contain letters, digits, '_' and '-'";

function unknownKey(path: Path, key: string, parent: SchemaNode, schemaPath: string): Explained {
  const keyPath = [...path, key];
  const group = `unknown:${formatPath(keyPath)}`;
  const envHint = key.includes('${') ? ' (environment variables are not expanded in keys)' : '';
  // A map keyed by names (pipelines), rather than an object with named fields.
  if (isNode(parent.patternProperties) && !isNode(parent.properties)) {
    const isPipelines = path.length === 1 && path[0] === 'pipelines';
    const message = isPipelines
      ? `pipeline name '${key}' ${PIPELINE_NAME}${envHint}`
      : `key '${key}' must match ${Object.keys(parent.patternProperties).join(' or ')}${envHint}`;
    return { group, rank: 0, issue: { path: keyPath, anchor: 'key', message, unusable: [keyPath] } };
  }
  const valid = isNode(parent.properties) ? Object.keys(parent.properties) : [];
  const close = didYouMean(key, valid);
  const elsewhere = variantsHaving(key, schemaPath);
  const noun = nounFor(path);
  const tag = isNode(parent.properties) && isNode(parent.properties.type) ? parent.properties.type.const : undefined;
  let message: string;
  if (close !== undefined) message = `unknown key '${key}'; did you mean '${close}'?`;
  else if (elsewhere.length > 0 && typeof tag === 'string') {
    message = `unknown key '${key}' for a ${tag} ${noun} (only ${listWords(elsewhere)} ${noun}s have it)`;
  } else message = `unknown key '${key}'; valid keys: ${listWords(valid)}`;
  const issue: SchemaIssue = { path: keyPath, anchor: 'key', message: message + envHint, unusable: [keyPath] };
  return { group, rank: 0, issue, ...(close !== undefined ? { meant: close } : {}) };
}

/** For a key unknown to one variant of a tagged union, the other variants that have it. */
function variantsHaving(key: string, schemaPath: string): string[] {
  const segments = schemaPath.replace(/^#\//, '').split('/').map((s) => decodeURIComponent(s.replace(/~1/g, '/').replace(/~0/g, '~')));
  let node: unknown = reshapedSchema();
  let siblings: unknown[] | undefined;
  for (const segment of segments) {
    if (Array.isArray(node)) node = node[Number(segment)];
    else if (isNode(node)) {
      if (segment === 'oneOf' && Array.isArray(node.oneOf)) siblings = node.oneOf;
      node = node[segment];
    } else return [];
  }
  if (siblings === undefined) return [];
  return siblings
    .filter((v) => isNode(v) && isNode(v.properties) && Object.hasOwn(v.properties, key))
    .map((v) => String(variantTag(v)));
}

function unknownVariant(path: Path, params: Record<string, unknown>, parent: SchemaNode): Explained {
  const tags = ((parent.oneOf ?? []) as unknown[]).map((v) => String(variantTag(v)));
  const noun = nounFor(path);
  const tag = params.tagValue;
  const unusable = [path];
  if (params.error === 'mapping' && typeof tag === 'string') {
    const message = choice(`unknown ${noun} type '${tag}'`, tag, tags);
    return { group: `value:${formatPath(path)}`, rank: 1, issue: { path: [...path, 'type'], anchor: 'value', message, unusable } };
  }
  if (tag === undefined) {
    const message = `missing required key 'type'; valid ${noun} types: ${listWords(tags)}`;
    return { group: `value:${formatPath(path)}`, rank: 1, issue: { path, anchor: 'key', message, unusable } };
  }
  const message = `must be one of ${listWords(tags)}, got ${describeValue(tag)}`;
  return { group: `value:${formatPath(path)}`, rank: 1, issue: { path: [...path, 'type'], anchor: 'value', message, unusable } };
}

function enumMessage(value: unknown, allowed: readonly unknown[]): string {
  const words = allowed.map(literal);
  if (typeof value === 'string') return choice(`unknown value '${value}'`, value, words);
  return `must be one of ${listWords(words)}, got ${describeValue(value)}`;
}

const YAML11_BOOLEANS: Readonly<Record<string, boolean>> = { yes: true, no: false, on: true, off: false, y: true, n: false };

function typeHint(value: unknown, expected: unknown, parent: SchemaNode): string {
  const types = Array.isArray(expected) ? expected : [expected];
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (types.includes('boolean') && lower in YAML11_BOOLEANS) return `; write ${String(YAML11_BOOLEANS[lower])}`;
    if ((types.includes('integer') || types.includes('number')) && value.trim() !== '' && !Number.isNaN(Number(value))) {
      return ' (text, because it is quoted; remove the quotes)';
    }
    if (types.includes('object') && isNode(parent.discriminator)) {
      const tags = ((parent.oneOf ?? []) as unknown[]).map((v) => String(variantTag(v)));
      if (tags.includes(value)) return `; write { type: ${value} }`;
    }
  }
  return '';
}

function rangeText(schema: SchemaNode): string {
  const min = schema.minimum as number | undefined;
  const max = schema.maximum as number | undefined;
  const above = schema.exclusiveMinimum as number | undefined;
  if (min !== undefined && max !== undefined) return min === max ? `must be ${min}` : `must be between ${min} and ${max}`;
  if (above !== undefined) return `must be more than ${above}`;
  if (min !== undefined) return `must be at least ${min}`;
  if (max !== undefined) return `must be at most ${max}`;
  return 'is out of range';
}

/** `sinks[2]` is a sink, `source` a source. */
function nounFor(path: Path): string {
  for (let i = path.length - 1; i >= 0; i--) {
    const segment = path[i];
    if (typeof segment !== 'string') continue;
    const item = typeof path[i + 1] === 'number';
    return item && segment.endsWith('s') ? segment.slice(0, -1) : segment;
  }
  return 'value';
}

function itemNoun(path: Path, limit: unknown): string {
  const last = path[path.length - 1];
  const noun = typeof last === 'string' && last.endsWith('s') ? last.slice(0, -1) : 'item';
  return limit === 1 ? `one ${noun}` : `${String(limit)} ${noun}s`;
}
