/** Collects located diagnostics for one file as the loader's stages find them. */
import type { Diagnostic, Severity } from './diagnostic.js';
import { formatPath, type Path } from './path.js';
import type { Anchor, SourceMap } from './source-map.js';

export class Problems {
  private readonly found: Diagnostic[] = [];
  private readonly seen = new Set<string>();

  constructor(
    readonly file: string,
    private readonly sourceMap: SourceMap,
  ) {}

  /** At a path's key or value. */
  at(severity: Severity, path: Path, anchor: Anchor, message: string): void {
    this.atOffset(severity, path, this.sourceMap.offsetOf(path, anchor), message);
  }

  /** At an exact offset in the text (a `${` inside a value, a YAML syntax error). */
  atOffset(severity: Severity, path: Path, offset: number, message: string): void {
    const { line, col } = this.sourceMap.position(offset);
    const diagnostic: Diagnostic = { file: this.file, line, col, path: formatPath(path), message, severity };
    // One mistake reached by two routes (an anchor used twice) is reported once.
    const key = `${line}:${col}:${diagnostic.path}:${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.found.push(diagnostic);
  }

  get all(): readonly Diagnostic[] {
    return this.found;
  }

  get hasErrors(): boolean {
    return this.found.some((d) => d.severity === 'error');
  }
}
