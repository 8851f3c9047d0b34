import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import { redactUrl } from '../../src/sinks/webhook/redact.js';
import { backoffDelay, judgeStatus, parseRetryAfter } from '../../src/sinks/webhook/retry.js';
import { sign, signingKey } from '../../src/sinks/webhook/signature.js';

describe('webhook parts', () => {
  it('signs exactly as the standardwebhooks library does, for whsec_ and raw secrets', () => {
    const body = Buffer.from('{"type":"transcript.final","data":{"text":"héllo"}}');
    const at = new Date(1_790_000_000_000);
    const whsec = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    expect(sign(signingKey(whsec), 'msg_1', 1_790_000_000, body)).to.equal(new Webhook(whsec).sign('msg_1', at, body));
    expect(sign(signingKey('raw secret'), 'msg_1', 1_790_000_000, body)).to.equal(new Webhook('raw secret', { format: 'raw' }).sign('msg_1', at, body));
    expect(() => signingKey('whsec_a')).to.throw(/base64/);
  });

  it('retries network-like statuses, honours Retry-After only on 429 and 503, rejects the rest', () => {
    const now = Date.parse('2026-11-25T10:00:00Z');
    const kinds = [200, 204, 301, 400, 401, 404, 408, 413, 429, 500, 501, 502, 503].map((s) => [s, judgeStatus(s, null, now).kind]);
    expect(Object.fromEntries(kinds)).to.deep.equal({
      200: 'delivered', 204: 'delivered', 301: 'rejected', 400: 'rejected', 401: 'rejected', 404: 'rejected', 408: 'retry',
      413: 'rejected', 429: 'retry', 500: 'retry', 501: 'retry', 502: 'retry', 503: 'retry',
    });
    expect(judgeStatus(429, '7', now)).to.include({ retryAfterMs: 7000 });
    expect(judgeStatus(503, 'Wed, 25 Nov 2026 10:00:30 GMT', now)).to.include({ retryAfterMs: 30_000 });
    expect(judgeStatus(500, '7', now)).not.to.have.property('retryAfterMs');
    expect(parseRetryAfter('soon', now)).to.equal(undefined);
    expect(parseRetryAfter('Wed, 25 Nov 2026 09:00:00 GMT', now)).to.equal(0);
  });

  it('backs off exponentially with full jitter under the cap', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 12, 40].map((n) => backoffDelay(n, 500, 10_000, () => 0.999_999));
    expect(ceilings).to.deep.equal([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
    expect(backoffDelay(4, 500, 10_000, () => 0)).to.equal(0);
    expect(backoffDelay(4, 500, 10_000, () => 0.5)).to.equal(2000);
  });

  it('strips credentials and query values from URLs it logs', () => {
    expect(redactUrl('https://u:p@hooks.example/in?token=abc&x=1')).to.equal('https://hooks.example/in?token=REDACTED&x=REDACTED');
  });
});
