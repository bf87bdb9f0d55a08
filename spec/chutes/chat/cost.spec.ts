import { computeCost } from '../../../lib/chutes/chat/cost';
import { parseRateLimit } from '../../../lib/chutes/http/rate-limit-headers';

describe('cost and rate limits', () => {
  const usage = { promptTokens: 1000, completionTokens: 500, totalTokens: 1500, cachedTokens: 200 };

  it('prices uncached prompt tokens, cache reads and completion tokens (USD per 1M tokens)', () => {
    expect(computeCost(usage, { input: 0.1, output: 0.4, cacheRead: 0.01, unit: 'USD per 1M tokens' })).toEqual({ usd: 0.000282 });
    // No cache-read price: cached tokens cost the input price.
    expect(computeCost(usage, { input: 0.1, output: 0.4, cacheRead: null, unit: 'USD per 1M tokens' })).toEqual({ usd: 0.0003 });
    expect(computeCost(usage, { input: null, output: 0.4, cacheRead: null, unit: 'USD per 1M tokens' })).toBeUndefined();
    expect(computeCost(usage, undefined)).toBeUndefined();
  });

  it('reads X-RateLimit-* (reset as epoch seconds or seconds from now)', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(
      parseRateLimit({ 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '59', 'x-ratelimit-reset': String(now / 1000 + 30) }, now),
    ).toEqual({
      limit: 60,
      remaining: 59,
      resetAt: '2026-01-01T00:00:30.000Z',
    });
    expect(parseRateLimit({ 'x-ratelimit-reset': '12' }, now)).toEqual({ resetAt: '2026-01-01T00:00:12.000Z' });
  });

  it('reads the X-Chutes-Quota-* / X-Chutes-RL-* headers and the invocation id', () => {
    expect(
      parseRateLimit({
        'x-chutes-quota-total': '5000',
        'x-chutes-quota-used': '125',
        'x-chutes-rl-user': '60',
        'x-chutes-rl-chute': '20',
        'x-chutes-invocationid': 'inv_123',
      }),
    ).toEqual({ limit: 60, chuteLimit: 20, quotaTotal: 5000, quotaUsed: 125, quotaRemaining: 4875, invocationId: 'inv_123' });
    expect(parseRateLimit({ 'x-chutes-rl-user': 'inf', 'x-chutes-quota-remaining': '7' })).toEqual({ quotaRemaining: 7, unlimited: true });
    expect(parseRateLimit({ 'content-type': 'text/event-stream' })).toBeUndefined();
  });
});
