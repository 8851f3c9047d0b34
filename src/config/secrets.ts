/**
 * Secrets in a loaded config: the fields the schema marks `x-secret`
 * (api_key, token, secret), values under names that say they are secret in
 * free-form maps (webhook headers like Authorization, connection params like
 * webhook_auth_header_value, plugin options like password), and credentials
 * inside URLs (user:password@, ?token=...). redactConfig hides them for
 * echoing a config; secretValues lists them so a logger can scrub them from
 * any line they turn up in.
 */
import { reshapedSchema } from './schema-check.js';
import type { PipelineFileConfig } from './schema.js';

export const REDACTED = '[redacted]';

type SchemaNode = Record<string, unknown>;

const SENSITIVE_NAME = /secret|token|passw(?:or)?d|api[-_]?key|auth|credential|cookie|private[-_]?key|signature/i;
const NAME_OF_SOMETHING = /[-_]name$/i;

/** A name that says its value is secret: Authorization, api_key, WEBHOOK_SECRET, password... */
export function isSensitiveName(name: string): boolean {
  return SENSITIVE_NAME.test(name) && !NAME_OF_SOMETHING.test(name);
}

/** A deep copy of `config` with every secret replaced by `[redacted]`. */
export function redactConfig(config: PipelineFileConfig): PipelineFileConfig {
  return walk(config, reshapedSchema(), false, () => undefined) as PipelineFileConfig;
}

/** Every secret value in `config`, longest first (so a scrubber replaces a key before any shorter secret inside it). */
export function secretValues(config: PipelineFileConfig): string[] {
  const found = new Set<string>();
  walk(config, reshapedSchema(), false, (secret) => found.add(secret));
  found.delete('');
  return [...found].sort((a, b) => b.length - a.length);
}

type Collect = (secret: string) => void;

function walk(value: unknown, schema: SchemaNode | undefined, sensitive: boolean, collect: Collect): unknown {
  if (typeof value === 'string') {
    if (sensitive || schema?.['x-secret'] === true) {
      collect(value);
      return REDACTED;
    }
    return redactUrl(value, collect);
  }
  if (Array.isArray(value)) {
    const items = isNode(schema?.items) ? schema.items : undefined;
    return value.map((item) => walk(item, items, sensitive, collect));
  }
  if (value === null || typeof value !== 'object') return value;
  const node = variantFor(value as Record<string, unknown>, schema);
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const described = propertySchema(node, key);
    // In free-form maps (headers, params, options) the name is all there is to go on.
    const byName = described === undefined || isFreeForm(described) ? isSensitiveName(key) : false;
    Object.defineProperty(copy, key, { value: walk(item, described, sensitive || byName, collect), enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

function isNode(value: unknown): value is SchemaNode {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** For a tagged union, the variant the value's `type` names. */
function variantFor(value: Record<string, unknown>, schema: SchemaNode | undefined): SchemaNode | undefined {
  if (!Array.isArray(schema?.oneOf)) return schema;
  return (schema.oneOf as SchemaNode[]).find((v) => isNode(v.properties) && isNode(v.properties.type) && v.properties.type.const === value.type);
}

function propertySchema(schema: SchemaNode | undefined, key: string): SchemaNode | undefined {
  if (schema === undefined) return undefined;
  if (isNode(schema.properties) && isNode(schema.properties[key])) return schema.properties[key];
  if (isNode(schema.patternProperties)) {
    for (const [pattern, sub] of Object.entries(schema.patternProperties)) {
      if (new RegExp(pattern).test(key) && isNode(sub)) return sub;
    }
  }
  return undefined;
}

/** `{}` or a bare type: a value the schema says nothing about. */
function isFreeForm(schema: SchemaNode): boolean {
  return Object.keys(schema).every((k) => k === 'type' || k === 'description');
}

const SENSITIVE_QUERY = /([?&])([^=&#]+)=([^&#]*)/g;

/** user:password@ and sensitive query values inside anything that looks like a URL. */
function redactUrl(text: string, collect: Collect): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text) || !URL.canParse(text)) return text;
  let redacted = text;
  const { password } = new URL(text);
  if (password !== '') {
    collect(password);
    collect(safeDecode(password));
    redacted = redacted.replace(`:${password}@`, `:${REDACTED}@`);
  }
  return redacted.replace(SENSITIVE_QUERY, (whole, separator: string, name: string, raw: string) => {
    if (!isSensitiveName(safeDecode(name)) || raw === '') return whole;
    collect(raw);
    collect(safeDecode(raw.replace(/\+/g, ' ')));
    return `${separator}${name}=${REDACTED}`;
  });
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
