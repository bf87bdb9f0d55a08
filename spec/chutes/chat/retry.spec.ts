import { retryDelayMs } from '../../../lib/chutes/chat/retry';
import { isRetryableNetworkError } from '../../../lib/chutes/http/retryable';
import { sleep } from '../../../lib/util/abort';

describe('retry policy', () => {
  const s = { maxRetries: 3, baseDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 60_000 };

  it('backs off exponentially with jitter between half and all of the step, capped', () => {
    expect(retryDelayMs(1, undefined, s, () => 0)).toBe(250);
    expect(retryDelayMs(1, undefined, s, () => 1)).toBe(500);
    expect(retryDelayMs(3, undefined, s, () => 0.5)).toBe(1500);
    expect(retryDelayMs(10, undefined, s, () => 1)).toBe(8000);
    const seen = new Set(Array.from({ length: 50 }, () => retryDelayMs(2, undefined, s)));
    expect(seen.size).toBeGreaterThan(10);
    for (const d of seen) expect(d! >= 500 && d! <= 1000).toBe(true);
  });

  it("honours the server's wait, and gives up when it is longer than it is worth waiting", () => {
    expect(retryDelayMs(1, 3000, s, () => 0)).toBe(3000);
    expect(retryDelayMs(1, 3000, s, () => 1)).toBe(3250);
    expect(retryDelayMs(1, 0, { ...s, baseDelayMs: 1 }, () => 1)).toBe(1);
    expect(retryDelayMs(1, 61_000, s)).toBeUndefined();
  });

  it('retries connection failures but not timeouts after the request was taken', () => {
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }))).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } }))).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe(false);
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'UND_MOCK_ERR_MOCK_NOT_MATCHED' }))).toBe(false);
  });

  it('sleeps, and stops sleeping at once when aborted', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = sleep(10_000, ac.signal);
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await expect(p).rejects.toThrow('stop');
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(sleep(5, new AbortController().signal)).resolves.toBeUndefined();
  });
});
