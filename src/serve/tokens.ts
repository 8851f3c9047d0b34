/**
 * Temporary tokens (GET /v3/token): each works once, as `?token=`, before it
 * expires, and may cap the duration of the session it opens.
 */
import { randomBytes } from 'node:crypto';

/** The API's documented ranges. */
export const TOKEN_EXPIRY_RANGE = { min: 1, max: 600 } as const;
export const TOKEN_SESSION_RANGE = { min: 60, max: 10800 } as const;

interface TokenGrant {
  expiresAt: number;
  maxSessionSeconds: number | undefined;
}

export type TokenRequest =
  | { ok: true; expiresInSeconds: number; maxSessionSeconds: number | undefined }
  | { ok: false; message: string };

function readWholeNumber(
  query: URLSearchParams,
  name: string,
  range: { min: number; max: number },
): number | undefined | string {
  const text = query.get(name);
  if (text === null) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < range.min || value > range.max) {
    return `${name} must be an integer between ${range.min} and ${range.max}, got ${JSON.stringify(text)}`;
  }
  return value;
}

export function parseTokenRequest(query: URLSearchParams): TokenRequest {
  const expires = readWholeNumber(query, 'expires_in_seconds', TOKEN_EXPIRY_RANGE);
  if (expires === undefined) {
    return { ok: false, message: `expires_in_seconds is required (${TOKEN_EXPIRY_RANGE.min} to ${TOKEN_EXPIRY_RANGE.max})` };
  }
  if (typeof expires === 'string') return { ok: false, message: expires };
  const session = readWholeNumber(query, 'max_session_duration_seconds', TOKEN_SESSION_RANGE);
  if (typeof session === 'string') return { ok: false, message: session };
  return { ok: true, expiresInSeconds: expires, maxSessionSeconds: session };
}

export class TokenStore {
  private readonly grants = new Map<string, TokenGrant>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(expiresInSeconds: number, maxSessionSeconds: number | undefined): string {
    this.forgetExpired();
    const token = randomBytes(24).toString('base64url');
    this.grants.set(token, { expiresAt: this.now() + expiresInSeconds * 1000, maxSessionSeconds });
    return token;
  }

  /** Uses a token up. Undefined: unknown, already used, or expired. */
  redeem(token: string): { maxSessionSeconds: number | undefined } | undefined {
    const grant = this.grants.get(token);
    this.grants.delete(token);
    if (grant === undefined || grant.expiresAt < this.now()) return undefined;
    return { maxSessionSeconds: grant.maxSessionSeconds };
  }

  private forgetExpired(): void {
    const now = this.now();
    for (const [token, grant] of this.grants) if (grant.expiresAt < now) this.grants.delete(token);
  }
}
