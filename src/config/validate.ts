/**
 * `earshot validate <file>`: every problem as `file:line:col: path: message`,
 * in file order, exit 1; or `file: ok (N pipelines: a, b)`, exit 0.
 * Warnings are printed either way and do not fail the file.
 */
import type { Writable } from 'node:stream';
import { ConfigError, formatDiagnostic, type Diagnostic } from './diagnostic.js';
import type { Env } from './interpolate.js';
import { loadPipelineFile } from './load.js';

export interface ValidateOptions {
  /** Print one JSON document instead of lines. */
  readonly json?: boolean;
  readonly env?: Env;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/** What `--json` prints. */
export interface ValidateReport {
  readonly file: string;
  readonly ok: boolean;
  /** Pipeline names, when the file loaded. */
  readonly pipelines: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
}

/** Returns the exit code. */
export async function validateCommand(file: string, options: ValidateOptions): Promise<number> {
  const report = await check(file, options.env ?? process.env);
  if (options.json === true) {
    options.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.ok ? 0 : 1;
  }
  const unreadable = report.diagnostics.find((d) => d.line === 0);
  if (unreadable !== undefined) {
    options.stderr.write(`earshot: ${formatDiagnostic(unreadable)}\n`);
    return 1;
  }
  for (const diagnostic of report.diagnostics) options.stdout.write(`${formatDiagnostic(diagnostic)}\n`);
  if (!report.ok) return 1;
  const count = report.pipelines.length === 1 ? '1 pipeline' : `${report.pipelines.length} pipelines`;
  const warnings = report.diagnostics.length === 0 ? '' : report.diagnostics.length === 1 ? ', 1 warning' : `, ${report.diagnostics.length} warnings`;
  options.stdout.write(`${file}: ok (${count}: ${report.pipelines.join(', ')}${warnings})\n`);
  return 0;
}

async function check(file: string, env: Env): Promise<ValidateReport> {
  try {
    const loaded = await loadPipelineFile(file, { env });
    return { file, ok: true, pipelines: Object.keys(loaded.config.pipelines), diagnostics: loaded.warnings };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { file, ok: false, pipelines: [], diagnostics: error.diagnostics };
  }
}
