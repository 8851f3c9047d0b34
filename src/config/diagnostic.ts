/**
 * What the loader reports: every problem in a pipeline file, located, all at
 * once. A ConfigError carries them; formatDiagnostic renders one the way
 * compilers do (`file:line:col: path: message`) so editors and terminals can
 * jump to it.
 */

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  readonly file: string;
  /** 1-based; 0 when the problem is with the file as a whole (it cannot be read). */
  readonly line: number;
  /** 1-based, in UTF-16 code units like editors count them; 0 with line 0. */
  readonly col: number;
  /** Where in the config, like `pipelines.meeting.sinks[1].url`; '' for the file or document itself. */
  readonly path: string;
  readonly message: string;
  readonly severity: Severity;
}

/** `file:line:col: path: message`; warnings say so after the path. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.col}` : d.file;
  const path = d.path === '' ? '' : ` ${d.path}:`;
  const severity = d.severity === 'warning' ? ' warning:' : '';
  return `${where}:${path}${severity} ${d.message}`;
}

/** File order: by line, column, then path, errors before warnings at one spot. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return (
    a.file.localeCompare(b.file) ||
    a.line - b.line ||
    a.col - b.col ||
    a.path.localeCompare(b.path) ||
    (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1) ||
    a.message.localeCompare(b.message)
  );
}

/** A pipeline file that cannot be used; `diagnostics` holds every problem found (warnings too). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly file: string;
  readonly diagnostics: readonly Diagnostic[];

  constructor(file: string, diagnostics: readonly Diagnostic[]) {
    const sorted = [...diagnostics].sort(compareDiagnostics);
    const errors = sorted.filter((d) => d.severity === 'error');
    const count = errors.length === 1 ? '1 problem' : `${errors.length} problems`;
    super(`${file}: ${count}\n${errors.map(formatDiagnostic).join('\n')}`);
    this.file = file;
    this.diagnostics = sorted;
  }

  get errors(): readonly Diagnostic[] {
    return this.diagnostics.filter((d) => d.severity === 'error');
  }

  get warnings(): readonly Diagnostic[] {
    return this.diagnostics.filter((d) => d.severity === 'warning');
  }
}
