/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the signature
 * is `v1,` and the base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>`.
 * A secret `whsec_<base64>` is the base64-decoded key; any other string is
 * used as its UTF-8 bytes (receivers pass it to their library as "raw").
 */
import { createHmac } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The HMAC key a secret stands for; throws a message saying what is wrong with it (never the secret). */
export function signingKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) return Buffer.from(secret, 'utf8');
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded) || encoded.length % 4 !== 0) {
    throw new Error(`a secret starting with ${SECRET_PREFIX} must continue with base64 (A-Z a-z 0-9 + /, padded with =)`);
  }
  return Buffer.from(encoded, 'base64');
}

export function sign(key: Buffer, id: string, timestampSeconds: number, body: Buffer): string {
  const hmac = createHmac('sha256', key);
  hmac.update(`${id}.${timestampSeconds}.`);
  hmac.update(body);
  return `v1,${hmac.digest('base64')}`;
}
