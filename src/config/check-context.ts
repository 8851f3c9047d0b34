/**
 * What the checks beyond the schema see: the config with defaults applied,
 * which parts of it the schema found wrong (checks leave those alone, so one
 * mistake gives one message), and a way to report at a key or value.
 */
import type { Severity } from './diagnostic.js';
import { isPrefix, type Path } from './path.js';
import type { PipelineFileConfig } from './schema.js';
import type { Anchor, Position } from './source-map.js';

export interface CheckContext {
  /** Trust only the parts `usable` or `intact` vouch for. */
  readonly config: PipelineFileConfig;
  report(severity: Severity, path: Path, anchor: Anchor, message: string): void;
  /** Nothing wrong at `path`, above it or below it: its value has the schema's shape. */
  usable(path: Path): boolean;
  /** Nothing wrong at `path` or above it (things below may be wrong): safe to walk into. */
  intact(path: Path): boolean;
  /** The environment references a value came from, as written; empty when written in the file. */
  fromEnv(path: Path): readonly string[];
  locate(path: Path, anchor: Anchor): Position;
  /** The file states this key (rather than a default filling it in). */
  given(path: Path): boolean;
}

export type Check = (context: CheckContext) => void;

/** The usable/intact tests over a list of paths the schema found wrong. */
export function damageTests(damaged: readonly Path[]): Pick<CheckContext, 'usable' | 'intact'> {
  return {
    intact: (path) => !damaged.some((d) => isPrefix(d, path)),
    usable: (path) => !damaged.some((d) => isPrefix(d, path) || isPrefix(path, d)),
  };
}
