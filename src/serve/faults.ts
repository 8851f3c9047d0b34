/**
 * Fault injection for tests of a client's reconnection and error handling.
 *
 * Faults come from three places, all in the same text form:
 * - the server's options (`faults`) or `--fault` flags: every session, or the
 *   sessions listed after `@` (0-based, in the order the server accepted them);
 * - `StreamingServer.setFaults()` at run time (sessions accepted afterwards);
 * - the connection's own `earshot_fault` query parameters (repeatable). The real
 *   service rejects that name like any unknown parameter, so only add it when
 *   talking to the emulator; the emulator takes it out before validating.
 *
 * Forms (times in ms, counted from Begin unless said otherwise):
 *   drop:MS                    destroy the socket, no close frame
 *   drop-random:MIN-MAX[:SEED] the same at a time drawn in [MIN, MAX] (seeded: reproducible)
 *   close:MS:CODE[:REASON]     an Error frame, then close with CODE and REASON
 *   malformed-json:MS          send a text frame that is not JSON
 *   unknown-message:MS         send a message of a type the API does not have
 *   delay-begin:MS             send Begin MS after the connection is accepted
 *   ignore-terminate           never answer Terminate (no Termination, no close)
 * and a suffix `@I,J` limits a server fault to those sessions.
 */

export type Fault =
  | { kind: 'drop'; afterMs: number }
  | { kind: 'drop-random'; minMs: number; maxMs: number; seed: number }
  | { kind: 'close'; afterMs: number; code: number; reason: string }
  | { kind: 'malformed-json'; afterMs: number }
  | { kind: 'unknown-message'; afterMs: number }
  | { kind: 'delay-begin'; ms: number }
  | { kind: 'ignore-terminate' };

/** A fault and, optionally, the sessions (by acceptance order from 0) it applies to. */
export type ServerFault = Fault & { sessions?: readonly number[] };

export class FaultSyntaxError extends Error {
  constructor(
    readonly text: string,
    detail: string,
  ) {
    super(`invalid fault ${JSON.stringify(text)}: ${detail}. ${FAULT_FORMS}`);
    this.name = 'FaultSyntaxError';
  }
}

export const FAULT_FORMS =
  'Valid forms: drop:MS, drop-random:MIN-MAX[:SEED], close:MS:CODE[:REASON], malformed-json:MS, ' +
  'unknown-message:MS, delay-begin:MS, ignore-terminate, each optionally followed by @SESSION[,SESSION...]';

/** Close codes a WebSocket endpoint may send (RFC 6455 and the registry ws enforces). */
export function isSendableCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}

function readMs(text: string, raw: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new FaultSyntaxError(raw, `${what} must be a whole number of milliseconds, got ${JSON.stringify(text)}`);
  return Number(text);
}

export function parseFault(raw: string): ServerFault {
  const text = raw.trim();
  let body = text;
  let sessions: number[] | undefined;
  const selector = /@(\d+(?:,\d+)*)$/.exec(text);
  if (selector !== null) {
    body = text.slice(0, selector.index);
    sessions = (selector[1] ?? '').split(',').map(Number);
  }
  const [kind = '', ...args] = body.split(':');
  const fault = parseBody(kind, args, raw);
  return sessions === undefined ? fault : { ...fault, sessions };
}

function parseBody(kind: string, args: string[], raw: string): Fault {
  const arity = (min: number, max: number): void => {
    if (args.length < min || args.length > max) {
      throw new FaultSyntaxError(raw, `${kind} takes ${min === max ? min : `${min} to ${max}`} argument(s)`);
    }
  };
  switch (kind) {
    case 'drop':
      arity(1, 1);
      return { kind, afterMs: readMs(args[0] ?? '', raw, 'the delay') };
    case 'drop-random': {
      arity(1, 2);
      const range = /^(\d+)-(\d+)$/.exec(args[0] ?? '');
      if (range === null) throw new FaultSyntaxError(raw, 'the range must read MIN-MAX in milliseconds');
      const minMs = Number(range[1]);
      const maxMs = Number(range[2]);
      if (maxMs < minMs) throw new FaultSyntaxError(raw, 'MAX must not be below MIN');
      const seed = args[1] === undefined ? 1 : readMs(args[1], raw, 'the seed');
      return { kind, minMs, maxMs, seed };
    }
    case 'close': {
      if (args.length < 2) throw new FaultSyntaxError(raw, 'close takes MS:CODE[:REASON]');
      const afterMs = readMs(args[0] ?? '', raw, 'the delay');
      const code = Number(args[1]);
      if (!Number.isInteger(code) || !isSendableCloseCode(code)) {
        throw new FaultSyntaxError(raw, `close code ${JSON.stringify(args[1])} cannot be sent; use 1000-1014 (not 1004-1006) or 3000-4999`);
      }
      return { kind, afterMs, code, reason: args.slice(2).join(':') };
    }
    case 'malformed-json':
    case 'unknown-message':
      arity(1, 1);
      return { kind, afterMs: readMs(args[0] ?? '', raw, 'the delay') };
    case 'delay-begin':
      arity(1, 1);
      return { kind, ms: readMs(args[0] ?? '', raw, 'the delay') };
    case 'ignore-terminate':
      arity(0, 0);
      return { kind };
    default:
      throw new FaultSyntaxError(raw, `unknown fault ${JSON.stringify(kind)}`);
  }
}

/** The text form of a fault, e.g. for an `earshot_fault` query parameter. */
export function formatFault(fault: ServerFault): string {
  const suffix = fault.sessions === undefined ? '' : `@${fault.sessions.join(',')}`;
  switch (fault.kind) {
    case 'drop':
    case 'malformed-json':
    case 'unknown-message':
      return `${fault.kind}:${fault.afterMs}${suffix}`;
    case 'drop-random':
      return `${fault.kind}:${fault.minMs}-${fault.maxMs}:${fault.seed}${suffix}`;
    case 'close':
      return `close:${fault.afterMs}:${fault.code}${fault.reason === '' ? '' : `:${fault.reason}`}${suffix}`;
    case 'delay-begin':
      return `delay-begin:${fault.ms}${suffix}`;
    case 'ignore-terminate':
      return `ignore-terminate${suffix}`;
  }
}

/** mulberry32: small, seedable, good enough to spread drop times. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type TimedFaultAction =
  | { action: 'drop'; atMs: number }
  | { action: 'close'; atMs: number; code: number; reason: string }
  | { action: 'malformed-json'; atMs: number }
  | { action: 'unknown-message'; atMs: number };

/** What one session will suffer, with random times already drawn. */
export interface FaultPlan {
  delayBeginMs: number;
  ignoreTerminate: boolean;
  timed: TimedFaultAction[];
}

/**
 * Resolves faults for one session. `draw` gives the random drop time of a
 * drop-random fault, so that a server-level fault draws from one seeded
 * sequence across its sessions.
 */
export function planFaults(faults: readonly Fault[], draw: (fault: Extract<Fault, { kind: 'drop-random' }>) => number): FaultPlan {
  const plan: FaultPlan = { delayBeginMs: 0, ignoreTerminate: false, timed: [] };
  for (const fault of faults) {
    switch (fault.kind) {
      case 'drop':
        plan.timed.push({ action: 'drop', atMs: fault.afterMs });
        break;
      case 'drop-random':
        plan.timed.push({ action: 'drop', atMs: draw(fault) });
        break;
      case 'close':
        plan.timed.push({ action: 'close', atMs: fault.afterMs, code: fault.code, reason: fault.reason });
        break;
      case 'malformed-json':
      case 'unknown-message':
        plan.timed.push({ action: fault.kind, atMs: fault.afterMs });
        break;
      case 'delay-begin':
        plan.delayBeginMs = Math.max(plan.delayBeginMs, fault.ms);
        break;
      case 'ignore-terminate':
        plan.ignoreTerminate = true;
        break;
    }
  }
  return plan;
}

export function drawInRange(random: () => number, minMs: number, maxMs: number): number {
  return Math.round(minMs + random() * (maxMs - minMs));
}
