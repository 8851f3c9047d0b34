/**
 * UpdateConfiguration from users (the service's HTTP endpoint): only the
 * parameters the API lets a session change, each of its type, checked here
 * because the service answers a bad one by ending the session with 3006.
 */
import { valueProblem } from '../config/check-params.js';
import { CONNECTION_PARAMS, LIVE_PARAMS } from './protocol.js';

export type ConfigurationUpdateCheck = { ok: true; params: Record<string, unknown> } | { ok: false; problems: string[] };

export function checkConfigurationUpdate(input: unknown): ConfigurationUpdateCheck {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, problems: [`expected a JSON object of parameters (${LIVE_PARAMS.join(', ')})`] };
  }
  const entries = Object.entries(input);
  if (entries.length === 0) return { ok: false, problems: [`no parameters given; settable: ${LIVE_PARAMS.join(', ')}`] };
  const problems: string[] = [];
  for (const [name, value] of entries) {
    const spec = CONNECTION_PARAMS[name];
    if (spec === undefined || !LIVE_PARAMS.includes(name)) {
      problems.push(`${name}: cannot be changed during a session; settable: ${LIVE_PARAMS.join(', ')}`);
      continue;
    }
    const problem = valueProblem(spec, value);
    if (problem !== undefined) problems.push(`${name}: ${problem}`);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, params: Object.fromEntries(entries) };
}
