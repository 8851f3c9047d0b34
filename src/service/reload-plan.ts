/**
 * What a reload does, decided from the running config and the new one:
 * pipelines whose settings are unchanged keep running untouched (same
 * capture, same transcriber session); changed ones restart; removed ones
 * stop; added ones start. A pipeline that failed
 * is started again: a reload is how an operator says "try again".
 */
import { canonicalJson } from '../config/canonical.js';
import type { PipelineFileConfig, ServiceConfig } from '../config/schema.js';

export interface ReloadPlan {
  readonly keep: readonly string[];
  /** Name -> why (`source, sinks changed`, `it had failed`). */
  readonly restart: ReadonlyMap<string, string>;
  readonly stop: readonly string[];
  readonly start: readonly string[];
  readonly service: ServiceChanges;
}

export interface ServiceChanges {
  /** Listen somewhere else, start or stop listening. */
  readonly http: boolean;
  /** The new level, when it changed: applied at once. */
  readonly logLevel?: string;
  /** Takes a restart of the service: the log destination is set up once. */
  readonly logFormat: boolean;
  readonly shutdownTimeout: boolean;
  /** Sinks keep state there: every pipeline restarts. */
  readonly stateDir: boolean;
}

export function planReload(running: PipelineFileConfig, next: PipelineFileConfig, failed: ReadonlySet<string> = new Set()): ReloadPlan {
  const service = serviceChanges(running.service, next.service);
  const keep: string[] = [];
  const restart = new Map<string, string>();
  const start: string[] = [];
  for (const [name, config] of Object.entries(next.pipelines)) {
    const before = running.pipelines[name];
    if (before === undefined) {
      start.push(name);
      continue;
    }
    const changed = changedKeys(before, config);
    if (changed.length > 0) restart.set(name, `${changed.join(', ')} changed`);
    else if (service.stateDir) restart.set(name, 'service.state_dir changed');
    else if (failed.has(name)) restart.set(name, 'it had failed');
    else keep.push(name);
  }
  const stop = Object.keys(running.pipelines).filter((name) => !(name in next.pipelines));
  return { keep, restart, stop, start, service };
}

/** True when nothing would change. */
export function isEmptyPlan(plan: ReloadPlan): boolean {
  const s = plan.service;
  return plan.restart.size === 0 && plan.stop.length === 0 && plan.start.length === 0 && !s.http && s.logLevel === undefined && !s.logFormat && !s.shutdownTimeout && !s.stateDir;
}

function changedKeys(before: object, after: object): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const value = (o: object, key: string) => canonicalJson((o as Record<string, unknown>)[key]);
  return [...keys].filter((key) => value(before, key) !== value(after, key)).sort();
}

function serviceChanges(before: ServiceConfig, after: ServiceConfig): ServiceChanges {
  const level = after.log.level !== before.log.level ? after.log.level : undefined;
  return {
    http: canonicalJson(before.http) !== canonicalJson(after.http),
    ...(level !== undefined ? { logLevel: level } : {}),
    logFormat: before.log.format !== after.log.format,
    shutdownTimeout: before.shutdown_timeout_ms !== after.shutdown_timeout_ms,
    stateDir: before.state_dir !== after.state_dir,
  };
}
