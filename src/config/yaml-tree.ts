/**
 * Reads a pipeline file's YAML into plain data, keeping where every key and
 * value came from, expanding environment references in scalar values, and
 * catching what the YAML library lets through silently: duplicate keys (the
 * later one would replace the earlier) and aliases that expand without end.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Pair } from 'yaml';
import {
  containsPlaceholder,
  expandScalar,
  maskEnvReferences,
  MAX_REFERENCES,
  restoreReferences,
  type Env,
  type EnvReference,
} from './interpolate.js';
import { formatPath, type Path } from './path.js';
import { Problems } from './problems.js';
import { SourceMap, type Span } from './source-map.js';

export interface YamlData {
  /** Plain data (mappings are objects, sequences arrays), environment references expanded. */
  readonly value: unknown;
  readonly sourceMap: SourceMap;
  readonly problems: Problems;
  /** Paths whose value came from the environment, with the references used as written. */
  readonly interpolated: ReadonlyMap<string, readonly string[]>;
  /** Paths whose reference (to a variable or an anchor) could not be followed, reported already; their value is the text as written, or null. */
  readonly unresolved: readonly Path[];
  /** false: the YAML is broken (syntax errors reported); `value` is not to be validated. */
  readonly wellFormed: boolean;
}

/** Nodes visited with aliases expanded; beyond this an alias is multiplying the document. */
const MAX_NODES = 100_000;

/** Hints for the YAML mistakes people make most, by the library's error code. */
const SYNTAX_HINTS: Readonly<Record<string, string>> = {
  BLOCK_AS_IMPLICIT_KEY: "quote a value that contains ': '",
  TAB_AS_INDENT: 'indent with spaces',
};

/** Library messages that talk about the library rather than the file. */
const SYNTAX_MESSAGES: Readonly<Record<string, string>> = {
  MULTIPLE_DOCS: "a second YAML document starts here; a pipeline file holds one (remove this '---' and what follows it)",
};

export function readYaml(text: string, file: string, env: Env): YamlData {
  const lineCounter = new LineCounter();
  const sourceMap = new SourceMap(lineCounter);
  const problems = new Problems(file, sourceMap);
  const { masked, references, overflowAt } = maskEnvReferences(text);
  const doc = parseDocument(masked, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const empty = { value: null, sourceMap, problems, interpolated: new Map(), unresolved: [] };

  if (overflowAt !== undefined) {
    problems.atOffset('error', [], overflowAt, `more than ${MAX_REFERENCES} \${...} references in one file`);
  }
  // Only the first syntax error: the parser's later ones are mostly echoes of it.
  const [error] = doc.errors;
  if (error !== undefined) {
    const hint = SYNTAX_HINTS[error.code];
    const message = SYNTAX_MESSAGES[error.code] ?? restoreReferences(error.message, references).replace(/ at line \d+, column \d+.*$/s, '');
    const quote = error.code === 'MISSING_CHAR' ? unclosedQuote(doc, error.pos[0]) : undefined;
    if (quote !== undefined) problems.atOffset('error', [], quote, 'YAML syntax: this quote is never closed');
    else problems.atOffset('error', [], error.pos[0], `YAML syntax: ${message}${hint ? ` (${hint})` : ''}`);
  }
  for (const warning of doc.warnings) {
    problems.atOffset('warning', [], warning.pos[0], `YAML: ${restoreReferences(warning.message, references)}`);
  }
  if (problems.hasErrors) return { ...empty, wellFormed: false };

  const tree = new TreeReader(doc, references, env, sourceMap, problems);
  const contents = doc.contents;
  if (contents === null) return { ...empty, wellFormed: true };
  sourceMap.record([], { value: spanOf(contents) });
  const value = tree.read(contents, []);
  if (tree.exhausted) {
    problems.atOffset('error', [], 0, `the document has more than ${MAX_NODES} values once its aliases are expanded`);
    return { ...empty, wellFormed: false };
  }
  return { value, sourceMap, problems, interpolated: tree.interpolated, unresolved: tree.unresolved, wellFormed: true };
}

class TreeReader {
  readonly interpolated = new Map<string, readonly string[]>();
  readonly unresolved: Path[] = [];
  exhausted = false;
  private budget = MAX_NODES;
  /** Collections being read, to catch an alias inside the node it names. */
  private readonly active = new Set<Node>();
  /** References reported already: an anchor used twice reports its missing variable once. */
  private readonly reported = new Set<EnvReference>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly references: readonly EnvReference[],
    private readonly env: Env,
    private readonly sourceMap: SourceMap,
    private readonly problems: Problems,
  ) {}

  read(node: Node | null, path: Path): unknown {
    if (node === null || this.exhausted) return null;
    if (--this.budget < 0) {
      this.exhausted = true;
      return null;
    }
    if (isAlias(node)) return this.readAlias(node, path);
    if (isScalar(node)) return this.readScalar(node.value, node.type === 'PLAIN', path);
    if (isMap(node)) return this.readMap(node.items as Pair<Node | null, Node | null>[], node, path);
    if (isSeq(node)) return this.readSeq(node.items as (Node | null)[], node, path);
    return null;
  }

  private readAlias(node: Node & { source: string; resolve(doc: Document): Node | undefined }, path: Path): unknown {
    const target = node.resolve(this.doc);
    // Reported here once; the value's other faults would be echoes, so the path is marked unresolved.
    if (target === undefined) {
      this.problems.at('error', path, 'value', `unknown alias *${node.source}`);
      this.unresolved.push(path);
      return null;
    }
    if (this.active.has(target)) {
      this.problems.at('error', path, 'value', `alias *${node.source} refers to a value that contains it`);
      this.unresolved.push(path);
      return null;
    }
    return this.read(target, path);
  }

  private readScalar(value: unknown, plain: boolean, path: Path): unknown {
    if (typeof value !== 'string' || !containsPlaceholder(value)) return value;
    const expansion = expandScalar(value, this.references, this.env, plain);
    if (expansion.expressions.length > 0) this.interpolated.set(formatPath(path), expansion.expressions);
    if (expansion.problems.length > 0) this.unresolved.push(path);
    for (const { reference, message } of expansion.problems) {
      if (this.reported.has(reference)) continue;
      this.reported.add(reference);
      this.problems.atOffset('error', path, reference.offset, message);
    }
    return expansion.value;
  }

  private readMap(pairs: readonly Pair<Node | null, Node | null>[], node: Node, path: Path): Record<string, unknown> {
    const result: Record<string, unknown> = {};
    const firstSeen = new Map<string, number>();
    const merges: Node[] = [];
    this.active.add(node);
    for (const pair of pairs) {
      const keyNode = pair.key;
      if (isScalar(keyNode) && keyNode.type === 'PLAIN' && keyNode.value === '<<') {
        if (pair.value !== null) merges.push(pair.value);
        continue;
      }
      const keySpan = keyNode === null ? spanOf(node) : spanOf(keyNode);
      const key = this.keyText(keyNode);
      if (key === undefined) {
        this.problems.atOffset('error', path, keySpan.start, 'keys must be plain text, like `name:`');
        continue;
      }
      const keyPath = [...path, key];
      const earlier = firstSeen.get(key);
      if (earlier !== undefined) {
        const line = this.sourceMap.position(earlier).line;
        this.problems.atOffset('error', keyPath, keySpan.start, `duplicate key '${key}' (first at line ${line}); each key may appear once`);
        continue;
      }
      firstSeen.set(key, keySpan.start);
      this.sourceMap.record(keyPath, { key: keySpan, value: pair.value === null ? { start: keySpan.end, end: keySpan.end } : spanOf(pair.value) });
      define(result, key, this.read(pair.value, keyPath));
    }
    for (const merge of merges) this.merge(result, merge, path);
    this.active.delete(node);
    return result;
  }

  /** `<<: *base` or `<<: [*a, *b]`: copy keys not given explicitly (YAML 1.1 merge keys). */
  private merge(into: Record<string, unknown>, source: Node, path: Path): void {
    const sources = isSeq(source) ? (source.items as Node[]) : [source];
    for (const item of sources) {
      const value = this.read(item, path);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        this.problems.atOffset('error', path, spanOf(item).start, '<< must name a mapping (an alias like *defaults, or a list of them)');
        continue;
      }
      for (const [key, entry] of Object.entries(value)) if (!Object.hasOwn(into, key)) define(into, key, entry);
    }
  }

  private readSeq(items: readonly (Node | null)[], node: Node, path: Path): unknown[] {
    this.active.add(node);
    const result = items.map((item, index) => {
      const itemPath = [...path, index];
      this.sourceMap.record(itemPath, { value: item === null ? spanOf(node) : spanOf(item) });
      return this.read(item, itemPath);
    });
    this.active.delete(node);
    return result;
  }

  private keyText(node: Node | null): string | undefined {
    if (!isScalar(node)) return undefined;
    const value = node.value;
    if (typeof value === 'string') return restoreReferences(value, this.references);
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return undefined;
  }
}

/** The parser reports an unclosed quote where the text ends; the quote itself is more use. */
function unclosedQuote(doc: Document.Parsed, errorAt: number): number | undefined {
  let start: number | undefined;
  visit(doc, {
    Scalar(_key, node) {
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      if (quoted && node.range?.[1] === errorAt) start = node.range[0];
    },
  });
  return start;
}

function spanOf(node: Node): Span {
  const range = node.range;
  return range ? { start: range[0], end: range[1] } : { start: 0, end: 0 };
}

/** Set a key without letting `__proto__` or similar reach the prototype. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
