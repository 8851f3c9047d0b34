/**
 * Connection parameters and UpdateConfiguration fields, checked the way the
 * service checks them: every name must be one the API knows, every value of
 * its kind and range. A failure carries the close code and the Error text.
 */
import {
  CONNECTION_PARAMS,
  CloseCode,
  LIVE_PARAMS,
  type ConnectionParamValue,
  type ParamSpec,
} from '../transport/protocol.js';

/** Encodings the emulator can turn into 16-bit PCM for an engine. */
export type DecodableEncoding = 'pcm_s16le' | 'pcm_mulaw';

export interface SessionParams {
  /** What the client sent, typed; UpdateConfiguration changes the live ones. */
  values: Record<string, ConnectionParamValue>;
  sampleRate: number;
  encoding: DecodableEncoding;
}

export interface ParamFailure {
  code: number;
  message: string;
}

export type ParamsResult = { ok: true; params: SessionParams } | { ok: false; failure: ParamFailure };

// The service is a pydantic app: it reads booleans in pydantic's lax forms.
const TRUE_WORDS = new Set(['true', '1', 'yes', 'on', 't', 'y']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off', 'f', 'n']);
const INT_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function invalid(message: string): ParamFailure {
  return { code: CloseCode.InputValidation, message: `Input Validation Error: ${message}` };
}

function describeKind(spec: ParamSpec): string {
  const range =
    spec.min !== undefined && spec.max !== undefined
      ? ` between ${spec.min} and ${spec.max}`
      : spec.min !== undefined
        ? ` of at least ${spec.min}`
        : spec.max !== undefined
          ? ` of at most ${spec.max}`
          : '';
  switch (spec.kind) {
    case 'int':
      return `an integer${range}`;
    case 'number':
      return `a number${range}`;
    case 'bool':
      return 'a boolean (true or false)';
    case 'string':
      return 'a string';
    case 'string[]':
      return 'a JSON array of strings';
    case 'json':
      return 'a JSON value';
    case 'enum':
      return `one of ${(spec.values ?? []).join(', ')}`;
  }
}

function inRange(value: number, spec: ParamSpec): boolean {
  return (spec.min === undefined || value >= spec.min) && (spec.max === undefined || value <= spec.max);
}

/** A query-string value read as its kind, or undefined when it is not one. */
function readQueryValue(text: string, spec: ParamSpec): ConnectionParamValue | undefined {
  switch (spec.kind) {
    case 'int': {
      if (!INT_TEXT.test(text.trim())) return undefined;
      const value = Number(text);
      return Number.isSafeInteger(value) && inRange(value, spec) ? value : undefined;
    }
    case 'number': {
      if (!NUMBER_TEXT.test(text.trim())) return undefined;
      const value = Number(text);
      return Number.isFinite(value) && inRange(value, spec) ? value : undefined;
    }
    case 'bool': {
      const word = text.trim().toLowerCase();
      return TRUE_WORDS.has(word) ? true : FALSE_WORDS.has(word) ? false : undefined;
    }
    case 'string':
      return text;
    case 'string[]': {
      const parsed = parseJson(text);
      return isStringArray(parsed) ? parsed : undefined;
    }
    case 'json': {
      const parsed = parseJson(text);
      return parsed === undefined ? undefined : (parsed as ConnectionParamValue);
    }
    case 'enum':
      return spec.values?.includes(text) ? text : undefined;
  }
}

/** A JSON value (from UpdateConfiguration) checked against its kind. */
function readJsonValue(value: unknown, spec: ParamSpec): ConnectionParamValue | undefined {
  switch (spec.kind) {
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value) && inRange(value, spec) ? value : undefined;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) && inRange(value, spec) ? value : undefined;
    case 'bool':
      return typeof value === 'boolean' ? value : undefined;
    case 'string':
    case 'enum':
      return typeof value === 'string' ? readQueryValue(value, spec) : undefined;
    case 'string[]':
      return isStringArray(value) ? value : undefined;
    case 'json':
      return value === undefined ? undefined : (value as ConnectionParamValue);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
}

/**
 * Reads a connection's query. `reserved` names (token, the emulator's fault
 * parameter) were taken out by the caller and are not connection parameters.
 */
export function parseConnectionParams(query: URLSearchParams, reserved: readonly string[]): ParamsResult {
  const values: Record<string, ConnectionParamValue> = {};
  const names = [...new Set(query.keys())].filter((name) => !reserved.includes(name));
  for (const name of names) {
    const spec = CONNECTION_PARAMS[name];
    if (spec === undefined) {
      const known = Object.keys(CONNECTION_PARAMS).join(', ');
      return { ok: false, failure: invalid(`unknown connection parameter '${name}'. Valid parameters: ${known}`) };
    }
    const texts = query.getAll(name);
    if (texts.length > 1) {
      return { ok: false, failure: invalid(`connection parameter '${name}' is given ${texts.length} times; give it once`) };
    }
    const text = texts[0] ?? '';
    if (name === 'sample_rate') {
      const rate = readQueryValue(text, spec);
      if (typeof rate !== 'number' || rate < 1) {
        return { ok: false, failure: badSampleRate(`got ${quote(text)}`) };
      }
      values[name] = rate;
      continue;
    }
    const value = readQueryValue(text, spec);
    if (value === undefined) {
      return {
        ok: false,
        failure: invalid(`connection parameter '${name}' must be ${describeKind(spec)}; got ${quote(text)}`),
      };
    }
    values[name] = value;
  }
  applyDeprecatedAliases(values);

  const encoding = (values.encoding as string | undefined) ?? 'pcm_s16le';
  if (encoding !== 'pcm_s16le' && encoding !== 'pcm_mulaw') {
    return {
      ok: false,
      failure: invalid(
        `earshot serve cannot decode ${encoding} audio (the real service can); connect with encoding pcm_s16le or pcm_mulaw`,
      ),
    };
  }
  const sampleRate = values.sample_rate;
  if (typeof sampleRate !== 'number') {
    return { ok: false, failure: badSampleRate(`sample_rate is required for ${encoding} audio`) };
  }
  return { ok: true, params: { values, sampleRate, encoding } };
}

function badSampleRate(detail: string): ParamFailure {
  return { code: CloseCode.BadSampleRate, message: `Sample rate must be a positive integer: ${detail}` };
}

/** Deprecated names still work; the current name wins when both are given (as in the SDK). */
function applyDeprecatedAliases(values: Record<string, ConnectionParamValue>): void {
  const silence = values.min_end_of_turn_silence_when_confident;
  if (silence !== undefined && values.min_turn_silence === undefined) values.min_turn_silence = silence;
  const language = values.language_code;
  if (typeof language === 'string' && values.language_codes === undefined) values.language_codes = [language];
}

export type UpdateResult =
  | { ok: true; updates: Record<string, ConnectionParamValue> }
  | { ok: false; message: string };

/** Checks an UpdateConfiguration message's fields (all but `type`). */
export function parseConfigurationUpdate(message: Record<string, unknown>): UpdateResult {
  const updates: Record<string, ConnectionParamValue> = {};
  for (const [name, raw] of Object.entries(message)) {
    if (name === 'type') continue;
    const spec = CONNECTION_PARAMS[name];
    if (spec === undefined || !LIVE_PARAMS.includes(name)) {
      return {
        ok: false,
        message: `Invalid Message: UpdateConfiguration cannot set '${name}'. Settable: ${LIVE_PARAMS.join(', ')}`,
      };
    }
    const value = readJsonValue(raw, spec);
    if (value === undefined) {
      return {
        ok: false,
        message: `Invalid Message: UpdateConfiguration field '${name}' must be ${describeKind(spec)}; got ${JSON.stringify(raw) ?? 'undefined'}`,
      };
    }
    updates[name] = value;
  }
  return { ok: true, updates };
}
