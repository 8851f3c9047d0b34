/**
 * Where each part of the config came from in the file: the key and the value
 * of every path, as offsets, turned into 1-based line and column on demand.
 */
import type { LineCounter } from 'yaml';
import { formatPath, type Path } from './path.js';

export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface Spans {
  /** The key, for mapping entries. */
  readonly key?: Span;
  /** The value (for an empty value, where it would start). */
  readonly value: Span;
}

export interface Position {
  readonly line: number;
  readonly col: number;
}

/** Point at a path's key (unknown keys, missing keys) or at its value (wrong values). */
export type Anchor = 'key' | 'value';

export class SourceMap {
  private readonly spans = new Map<string, Spans>();

  constructor(private readonly lineCounter: LineCounter) {}

  /** The first record of a path wins: a duplicate key does not move its original. */
  record(path: Path, spans: Spans): void {
    const key = formatPath(path);
    if (!this.spans.has(key)) this.spans.set(key, spans);
  }

  spansOf(path: Path): Spans | undefined {
    return this.spans.get(formatPath(path));
  }

  /** Offset of a path's key or value; a path added by defaults is located at its nearest ancestor's key. */
  offsetOf(path: Path, anchor: Anchor): number {
    for (let length = path.length; length >= 0; length--) {
      const spans = this.spans.get(formatPath(path.slice(0, length)));
      if (spans === undefined) continue;
      const exact = length === path.length;
      const span = exact && anchor === 'value' ? spans.value : (spans.key ?? spans.value);
      return span.start;
    }
    return 0;
  }

  position(offset: number): Position {
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, col };
  }

  locate(path: Path, anchor: Anchor): Position {
    return this.position(this.offsetOf(path, anchor));
  }
}
