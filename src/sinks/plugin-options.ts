/**
 * Checks a plugin's `options:` against the JSON Schema the plugin publishes
 * (draft-07 by default, 2019-09 or 2020-12 when its `$schema` says so).
 * Every problem is reported, each with the option's path (`options.speakers.A`)
 * and what would be valid. Defaults in the schema are filled in, so a plugin
 * receives complete options. Values of fields marked `x-secret` or
 * `writeOnly` are never echoed.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { closest, distance } from 'fastest-levenshtein';

export type OptionsCheck =
  | { ok: true; options: Record<string, unknown> }
  | { ok: false; problems: string[] };

/** The schema itself is unusable: the plugin's fault, not the user's. */
export class InvalidOptionsSchemaError extends Error {
  override readonly name = 'InvalidOptionsSchemaError';
}

type SchemaObject = Record<string, unknown>;

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

export function compileOptionsSchema(schema: unknown): ValidateFunction {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new InvalidOptionsSchemaError(`optionsSchema must be a JSON Schema object, got ${describeValue(schema)}`);
  }
  const declared = (schema as SchemaObject).$schema;
  const draft = typeof declared === 'string' ? declared : '';
  const settings = { allErrors: true, useDefaults: true, verbose: true, strict: false } as const;
  const ajv = draft.includes('2020-12') ? new Ajv2020(settings) : draft.includes('2019-09') ? new Ajv2019(settings) : new Ajv(settings);
  addFormats(ajv);
  try {
    return ajv.compile(schema);
  } catch (error) {
    throw new InvalidOptionsSchemaError(`optionsSchema is not a valid JSON Schema: ${(error as Error).message}`, { cause: error });
  }
}

/** Validates a copy of options (defaults filled in); the caller's object is left alone. */
export function checkPluginOptions(validate: ValidateFunction, options: Record<string, unknown>): OptionsCheck {
  const copy = structuredClone(options);
  if (validate(copy)) return { ok: true, options: copy };
  const problems = (validate.errors ?? []).filter((error) => !isSummaryOfOthers(error)).map(describeProblem);
  return { ok: false, problems: [...new Set(problems)] };
}

/** anyOf/oneOf failures are explained by the branch errors Ajv lists before them. */
function isSummaryOfOthers(error: ErrorObject): boolean {
  return error.keyword === 'anyOf' || error.keyword === 'oneOf' || error.keyword === 'if';
}

function describeProblem(error: ErrorObject): string {
  const path = optionPath(error.instancePath);
  const parent = (error.parentSchema ?? {}) as SchemaObject;
  const got = isSecret(parent) ? '' : ` (got ${describeValue(error.data)})`;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const name = String(params.missingProperty);
      const property = ((parent.properties ?? {}) as Record<string, SchemaObject>)[name] ?? {};
      const types = ([] as unknown[]).concat(property.type ?? []).filter((t): t is string => typeof t === 'string');
      const expected = types.length > 0 ? ` (${types.join(' or ')})` : '';
      const description = typeof property.description === 'string' ? `: ${property.description}` : '';
      return `${optionPath(`${error.instancePath}/${name}`)}: required option is missing${expected}${description}`;
    }
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const known = Object.keys(parent.properties ?? {});
      const suggestion = known.length > 0 ? closest(name, known) : undefined;
      const hint = suggestion !== undefined && isNear(name, suggestion) ? `; did you mean ${suggestion}?` : '';
      const valid = known.length > 0 ? ` Valid options here: ${known.join(', ')}.` : '';
      return `${optionPath(`${error.instancePath}/${name}`)}: unknown option${hint}${valid}`;
    }
    case 'enum':
      return `${path}: must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${got}`;
    case 'const':
      return `${path}: must be ${JSON.stringify(params.allowedValue)}${got}`;
    case 'type':
      return `${path}: must be ${String(params.type)}${got}`;
    default:
      return `${path}: ${error.message ?? 'is invalid'}${got}`;
  }
}

function isNear(a: string, b: string): boolean {
  const normal = (text: string): string => text.toLowerCase().replace(/[-_]/g, '');
  return normal(a) === normal(b) || distance(a, b) <= Math.max(2, Math.floor(b.length / 3));
}

/** `/speakers/A` -> `options.speakers.A`; `/to/0` -> `options.to[0]`. */
function optionPath(pointer: string): string {
  let path = 'options';
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    path += /^\d+$/.test(part) ? `[${part}]` : /^[A-Za-z_$][\w$-]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  }
  return path;
}

function isSecret(schema: SchemaObject): boolean {
  return schema['x-secret'] === true || schema.writeOnly === true;
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  switch (typeof value) {
    case 'string':
      return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'function':
      return 'a function';
    case 'object':
      return `an object with keys ${Object.keys(value).join(', ') || '(none)'}`;
    default:
      return `a ${typeof value}`;
  }
}

/**
 * The values of the options a plugin's schema marks `x-secret` (or
 * `writeOnly`), at any depth, so the service can scrub them from every log
 * line. Branches of allOf/anyOf/oneOf are all followed (a value secret in any
 * of them counts); `$ref` is not.
 */
export function secretOptionValues(schema: unknown, options: unknown): string[] {
  const found: string[] = [];
  collectSecrets(schema, options, found);
  return [...new Set(found)];
}

function collectSecrets(schema: unknown, value: unknown, found: string[]): void {
  if (!isSchemaObject(schema) || value === undefined || value === null) return;
  if (isSecret(schema)) {
    collectScalars(value, found);
    return;
  }
  for (const keyword of ['allOf', 'anyOf', 'oneOf'] as const) {
    const branches = schema[keyword];
    if (Array.isArray(branches)) for (const branch of branches) collectSecrets(branch, value, found);
  }
  if (Array.isArray(value)) {
    const tuple = Array.isArray(schema.prefixItems) ? schema.prefixItems : Array.isArray(schema.items) ? schema.items : [];
    value.forEach((item, index) => collectSecrets(index < tuple.length ? tuple[index] : Array.isArray(schema.items) ? schema.additionalItems : schema.items, item, found));
    return;
  }
  if (typeof value !== 'object') return;
  const properties = isSchemaObject(schema.properties) ? schema.properties : {};
  const patterns = isSchemaObject(schema.patternProperties) ? Object.entries(schema.patternProperties) : [];
  for (const [key, item] of Object.entries(value)) {
    if (key in properties) collectSecrets(properties[key], item, found);
    const matching = patterns.filter(([pattern]) => new RegExp(pattern, 'u').test(key));
    for (const [, sub] of matching) collectSecrets(sub, item, found);
    if (!(key in properties) && matching.length === 0) collectSecrets(schema.additionalProperties, item, found);
  }
}

/** Every string or number inside a secret value (an object marked secret hides all it holds). */
function collectScalars(value: unknown, found: string[]): void {
  if (typeof value === 'string' || typeof value === 'number') found.push(String(value));
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) collectScalars(item, found);
}

function isSchemaObject(value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
