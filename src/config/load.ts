/**
 * Loading a pipeline file: YAML (with positions) -> environment interpolation
 * -> schema validation with defaults -> checks beyond the schema. Every
 * problem is collected and reported at once as a ConfigError, each located at
 * the key or value at fault.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { damageTests, type CheckContext } from './check-context.js';
import { CHECKS } from './checks.js';
import { compareDiagnostics, ConfigError, type Diagnostic } from './diagnostic.js';
import type { Env } from './interpolate.js';
import { formatPath, isPrefix, type Path } from './path.js';
import type { PipelineFileConfig } from './schema.js';
import { checkSchema } from './schema-check.js';
import { isSensitiveName, REDACTED, secretValues } from './secrets.js';
import type { Anchor } from './source-map.js';
import { readYaml } from './yaml-tree.js';

export { ConfigError, formatDiagnostic, type Diagnostic, type Severity } from './diagnostic.js';
export { redactConfig, secretValues, REDACTED } from './secrets.js';
export type { Env } from './interpolate.js';

export interface LoadedConfig {
  /** The file as named by the caller. */
  readonly file: string;
  /** Absolute directory of the file: relative paths in the config (sinks, plugins, state_dir) resolve against it. */
  readonly baseDir: string;
  /** Validated, with every default applied. */
  readonly config: PipelineFileConfig;
  /** Things that work but look wrong. */
  readonly warnings: readonly Diagnostic[];
}

export interface LoadOptions {
  /** Where `${VAR}` is looked up; default process.env. */
  readonly env?: Env;
}

/** Read, interpolate and validate a pipeline file; throws a ConfigError listing every problem. */
export async function loadPipelineFile(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [{ file, line: 0, col: 0, path: '', message: readFailure(error), severity: 'error' }]);
  }
  return loadPipelineText(text, file, options.env ?? process.env);
}

/** The same from text already read (tests, reloads); `file` names it in diagnostics and sets baseDir. */
export function loadPipelineText(text: string, file: string, env: Env = process.env): LoadedConfig {
  const { data, diagnostics } = analyse(text, file, env);
  if (diagnostics.some((d) => d.severity === 'error')) throw new ConfigError(file, diagnostics);
  const warnings = diagnostics.filter((d) => d.severity === 'warning').sort(compareDiagnostics);
  return { file, baseDir: path.dirname(path.resolve(file)), config: withoutExtensions(data as PipelineFileConfig), warnings };
}

/** Every diagnostic for the text; `data` is the config only when none is an error. */
function analyse(text: string, file: string, env: Env): { data?: unknown; diagnostics: readonly Diagnostic[] } {
  const yaml = readYaml(text, file, env);
  const { problems, sourceMap, interpolated, unresolved } = yaml;
  if (!yaml.wellFormed) return { diagnostics: problems.all };
  if (yaml.value === null) {
    problems.at('error', [], 'value', 'the file is empty; a pipeline file has `version: 1` and `pipelines:`');
    return { diagnostics: problems.all };
  }

  const data = yaml.value;
  // Never echo a secret, even one put in the wrong field: scrub the config's secrets and every sensitive variable used.
  const shownSecrets = [...secretValues(data as PipelineFileConfig), ...sensitiveVariableValues(interpolated, env)].filter((s) => s.length >= 6);
  const masked = (path: Path) => unresolved.some((u) => isPrefix(u, path));
  const report = (severity: Diagnostic['severity'], path: Path, anchor: Anchor, message: string) => {
    // A value whose variable is missing has been reported once; what follows from it is noise.
    if (masked(path)) return;
    const references = anchor === 'value' ? (interpolated.get(formatPath(path)) ?? []) : [];
    const origin = references.length > 0 ? ` (from ${references.join(', ')})` : '';
    problems.at(severity, path, anchor, scrub(message, shownSecrets) + origin);
  };

  const { issues, damaged } = checkSchema(data);
  for (const issue of issues) report('error', issue.path, issue.anchor, issue.message);
  const damage = damageTests([...damaged, ...unresolved]);

  if (damage.intact(['pipelines'])) {
    const context: CheckContext = {
      config: data as PipelineFileConfig,
      report,
      ...damage,
      fromEnv: (p) => interpolated.get(formatPath(p)) ?? [],
      locate: (p, anchor) => sourceMap.locate(p, anchor),
      given: (p) => sourceMap.spansOf(p) !== undefined,
    };
    for (const check of CHECKS) check(context);
  }
  return { data, diagnostics: problems.all };
}

/** `x-` keys only carry anchors for the rest of the file. */
function withoutExtensions(config: PipelineFileConfig): PipelineFileConfig {
  return Object.fromEntries(Object.entries(config).filter(([key]) => !key.startsWith('x-'))) as PipelineFileConfig;
}

function sensitiveVariableValues(interpolated: ReadonlyMap<string, readonly string[]>, env: Env): string[] {
  const names = [...interpolated.values()].flat().map((reference) => /^\$\{([A-Za-z0-9_]+)/.exec(reference)?.[1] ?? '');
  return names.filter(isSensitiveName).map((name) => env[name] ?? '');
}

function scrub(message: string, secrets: readonly string[]): string {
  return secrets.reduce((m, secret) => m.split(secret).join(REDACTED), message);
}

function readFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file',
    EISDIR: 'it is a directory, not a file',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
  };
  const reason = (code !== undefined ? reasons[code] : undefined) ?? (error as Error).message;
  return `cannot read the pipeline file: ${reason}${code !== undefined ? ` (${code})` : ''}`;
}
