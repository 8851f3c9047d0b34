/**
 * Environment interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?message}`, `${VAR?message}`, and `$$` for a literal `$`.
 *
 * References are found in the raw text and masked before YAML parsing, each by
 * a placeholder of the same length made of private-use characters. That keeps
 * every node's offset exact (errors point at the `${`), lets `${X}` stand
 * unquoted inside a flow mapping (`{ secret: ${X} }`, where `{` would otherwise
 * break the YAML), and means an expanded value can never change the document's
 * structure: values are substituted into parsed scalars, never into the text.
 * Only references that end up inside a scalar value are expanded; one in a
 * comment is ignored, one in a key is kept as written.
 */

export type EnvOperator = ':-' | '-' | ':?' | '?';

export interface EnvReference {
  /** Offset of the `$` in the file's text. */
  readonly offset: number;
  /** As written: `${PORT:-9464}`, `$$`. */
  readonly text: string;
  readonly kind: 'escape' | 'variable' | 'malformed';
  readonly name?: string;
  readonly operator?: EnvOperator;
  readonly argument?: string;
  /** Why a malformed reference is wrong. */
  readonly problem?: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

const PLACEHOLDER_START = 0xe000;
const PLACEHOLDER_FILL = 0xe001;
const PLACEHOLDER_INDEX_BASE = 0xe100;
const PLACEHOLDER = /\uE000[\uE100-\uF8FF]\uE001*/g;

export const REFERENCE_FORMS = '${NAME}, ${NAME:-default}, ${NAME-default} or ${NAME:?message}';

export interface MaskedText {
  readonly masked: string;
  readonly references: readonly EnvReference[];
  /** Offset of the first reference left unmasked because the file holds more than the placeholders can number. */
  readonly overflowAt?: number;
}

/** How many references one file may hold. */
export const MAX_REFERENCES = 0xf8ff - 0xe100;

/** Replace every reference in `text` by a same-length placeholder. */
export function maskEnvReferences(text: string): MaskedText {
  const references: EnvReference[] = [];
  let masked = '';
  let copied = 0;
  for (let i = text.indexOf('$'); i !== -1 && i < text.length; i = text.indexOf('$', i)) {
    const reference = readReference(text, i);
    if (reference === undefined) {
      i += 1;
      continue;
    }
    if (references.length >= MAX_REFERENCES) return { masked: masked + text.slice(copied), references, overflowAt: i };
    masked += text.slice(copied, i) + placeholder(references.length, reference.text.length);
    references.push(reference);
    i += reference.text.length;
    copied = i;
  }
  return { masked: masked + text.slice(copied), references };
}

/**
 * A malformed reference masks its whole `${...}` when that is plainly one
 * token, else only its `${`: masking a quote or a flow `}` beyond it would
 * break the YAML around it.
 */
function readReference(text: string, offset: number): EnvReference | undefined {
  const next = text[offset + 1];
  if (next === '$') return { offset, text: '$$', kind: 'escape' };
  if (next !== '{') return undefined;
  const lineEnd = indexOrEnd(text, '\n', offset);
  const close = text.indexOf('}', offset);
  const closed = close !== -1 && close < lineEnd;
  HEAD.lastIndex = offset;
  const head = HEAD.exec(text);
  if (head === null) {
    const token = closed && /^[^\s"'{}[\],]*$/.test(text.slice(offset + 2, close)) ? text.slice(offset, close + 1) : undefined;
    const shown = token ?? `\${${/^[^\s}"',]{0,30}/.exec(text.slice(offset + 2))?.[0] ?? ''}`;
    return malformed(offset, token ?? '${', `'${shown}' is not a valid reference; write ${REFERENCE_FORMS}, or $\${ for a literal \${`);
  }
  const [whole, name, operator] = head as unknown as [string, string, string];
  if (operator === '}') return { offset, text: whole, kind: 'variable', name };
  if (!closed) return malformed(offset, '${', `'\${${name}${operator}' is not closed by '}' on the same line`);
  const written = text.slice(offset, close + 1);
  const argument = text.slice(offset + whole.length, close);
  if (argument.includes('${')) return malformed(offset, '${', `nested references are not supported: ${written}`);
  return { offset, text: written, kind: 'variable', name, operator: operator as EnvOperator, argument };
}

const HEAD = /\$\{([A-Za-z_][A-Za-z0-9_]*)(\}|:-|-|:\?|\?)/y;

function malformed(offset: number, text: string, problem: string): EnvReference {
  return { offset, text, kind: 'malformed', problem };
}

function indexOrEnd(text: string, char: string, from: number): number {
  const found = text.indexOf(char, from);
  return found === -1 ? text.length : found;
}

function placeholder(index: number, length: number): string {
  return (
    String.fromCharCode(PLACEHOLDER_START, PLACEHOLDER_INDEX_BASE + index) +
    String.fromCharCode(PLACEHOLDER_FILL).repeat(length - 2)
  );
}

function referenceIndex(placeholderText: string): number {
  return placeholderText.charCodeAt(1) - PLACEHOLDER_INDEX_BASE;
}

export function containsPlaceholder(s: string): boolean {
  PLACEHOLDER.lastIndex = 0;
  return PLACEHOLDER.test(s);
}

/** Put the references back as written (for keys, and for messages that quote the masked text). */
export function restoreReferences(s: string, references: readonly EnvReference[]): string {
  return s.replace(PLACEHOLDER, (p) => references[referenceIndex(p)]?.text ?? p);
}

export interface ExpansionProblem {
  readonly reference: EnvReference;
  readonly message: string;
}

export interface Expansion {
  /** The expanded value; the text as written when a reference could not be expanded. */
  readonly value: unknown;
  /** The variable references used, as written. */
  readonly expressions: readonly string[];
  readonly problems: readonly ExpansionProblem[];
}

/**
 * Expand the placeholders in one scalar's value. `typed`: the scalar is plain
 * (unquoted) and nothing but one `${...}`, so the result takes the YAML type of
 * the text it expands to (`port: ${PORT}` gives an integer).
 */
export function expandScalar(value: string, references: readonly EnvReference[], env: Env, typed: boolean): Expansion {
  const expressions: string[] = [];
  const problems: ExpansionProblem[] = [];
  const expanded = value.replace(PLACEHOLDER, (p) => {
    const reference = references[referenceIndex(p)]!;
    if (reference.kind === 'escape') return '$';
    if (reference.kind === 'malformed') {
      problems.push({ reference, message: reference.problem! });
      return p;
    }
    expressions.push(reference.text);
    const result = resolveVariable(reference, env);
    if (typeof result === 'string') return result;
    problems.push({ reference, message: result.problem });
    return p;
  });
  if (problems.length > 0) return { value: restoreReferences(value, references), expressions, problems };
  const single = typed && expressions.length === 1 && isSingleVariable(value, references);
  return { value: single ? resolveCoreScalar(expanded) : expanded, expressions, problems };
}

function isSingleVariable(value: string, references: readonly EnvReference[]): boolean {
  const match = /^\uE000[\uE100-\uF8FF]\uE001*$/.exec(value);
  return match !== null && references[referenceIndex(match[0])]?.kind === 'variable';
}

function resolveVariable(reference: EnvReference, env: Env): string | { problem: string } {
  const name = reference.name!;
  const raw = Object.hasOwn(env, name) ? env[name] : undefined;
  const argument = reference.argument ?? '';
  switch (reference.operator) {
    case undefined:
      return raw ?? { problem: `environment variable ${name} is not set` };
    case ':-':
      return raw === undefined || raw === '' ? argument : raw;
    case '-':
      return raw ?? argument;
    case ':?':
      if (raw === undefined || raw === '') return { problem: failure(name, raw, argument) };
      return raw;
    case '?':
      return raw ?? { problem: failure(name, raw, argument) };
  }
}

function failure(name: string, raw: string | undefined, message: string): string {
  const state = raw === undefined ? 'is not set' : 'is empty';
  return message === '' ? `environment variable ${name} ${state}` : `environment variable ${name} ${state}: ${message}`;
}

const NULL = /^(?:~|null|Null|NULL)$/;
const TRUE = /^(?:true|True|TRUE)$/;
const FALSE = /^(?:false|False|FALSE)$/;
const INT = /^[-+]?[0-9]+$/;
const OCT = /^0o[0-7]+$/;
const HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const INF = /^[-+]?\.(?:inf|Inf|INF)$/;
const NAN = /^\.(?:nan|NaN|NAN)$/;

/**
 * What YAML 1.2's core schema makes of a plain scalar. An empty expansion
 * stays an empty string (so `minLength` can say "must not be empty") rather
 * than becoming null.
 */
export function resolveCoreScalar(text: string): unknown {
  if (NULL.test(text)) return null;
  if (TRUE.test(text)) return true;
  if (FALSE.test(text)) return false;
  if (INT.test(text)) return Number(text);
  if (OCT.test(text)) return parseInt(text.slice(2), 8);
  if (HEX.test(text)) return parseInt(text.slice(2), 16);
  if (FLOAT.test(text)) return Number(text);
  if (INF.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (NAN.test(text)) return NaN;
  return text;
}
