import { parseRateLimit, serverWaitMs } from '../../../lib/chutes/http/rate-limit-headers';

describe('server wait headers', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads Retry-After as seconds from now or an HTTP date, never as an epoch time', () => {
    expect(serverWaitMs({ 'retry-after': '3' }, now)).toBe(3000);
    expect(serverWaitMs({ 'retry-after': '0.5' }, now)).toBe(500);
    expect(serverWaitMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:07 GMT' }, now)).toBe(7000);
    expect(serverWaitMs({ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }, now)).toBe(0);
    expect(serverWaitMs({ 'retry-after': String(now / 1000 + 5) }, now)).toBe((now / 1000 + 5) * 1000);
  });

  it('reads X-RateLimit-Reset as seconds from now, epoch seconds, epoch milliseconds or an HTTP date', () => {
    expect(serverWaitMs({ 'x-ratelimit-reset': '12' }, now)).toBe(12_000);
    expect(serverWaitMs({ 'x-ratelimit-reset': String(now / 1000 + 30) }, now)).toBe(30_000);
    expect(serverWaitMs({ 'x-ratelimit-reset': String(now + 4_000) }, now)).toBe(4_000);
    expect(serverWaitMs({ 'x-ratelimit-reset': 'Thu, 01 Jan 2026 00:00:09 GMT' }, now)).toBe(9_000);
    expect(serverWaitMs({ 'x-ratelimit-reset': String(now - 60_000) }, now)).toBe(0);
    expect(serverWaitMs({ 'x-ratelimit-reset': '12, 12' }, now)).toBe(12_000);
  });

  it('prefers Retry-After, falls back to X-RateLimit-Reset when it is unreadable, and has no answer without either', () => {
    expect(serverWaitMs({ 'retry-after': '2', 'x-ratelimit-reset': '50' }, now)).toBe(2000);
    expect(serverWaitMs({ 'retry-after': 'soon', 'x-ratelimit-reset': '50' }, now)).toBe(50_000);
    expect(serverWaitMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(serverWaitMs({}, now)).toBeUndefined();
  });

  it('gives the same reset time to the rate-limit report as to the retry path', () => {
    for (const reset of ['12', String(now / 1000 + 30), String(now + 4_000), 'Thu, 01 Jan 2026 00:00:09 GMT']) {
      const at = parseRateLimit({ 'x-ratelimit-reset': reset }, now)!.resetAt!;
      expect(Date.parse(at) - now).toBe(serverWaitMs({ 'x-ratelimit-reset': reset }, now));
    }
    expect(parseRateLimit({ 'x-ratelimit-reset': '9'.repeat(20) }, now)).toBeUndefined();
  });
});
