/*
 * The retry policy of a chat call.
 *
 * Why not undici's retry interceptor: it cannot express this policy. It retries on response
 * headers, while a chat stream may still be retried after a 200 as long as no delta reached the
 * host (a stream that dies before its first token), and must never be after one; it honours
 * Retry-After but not X-RateLimit-Reset; its back-off has no jitter; its sleep ignores our
 * AbortSignal (a cancelled call would wait out the delay); once retries are exhausted it throws a
 * RequestRetryError without the upstream body, losing the FastAPI `detail` the error must carry;
 * it does not report how many attempts were made; and after a partial body it tries a Range
 * resume, which means nothing for a POST that generates text. So the loop lives in call.ts, the
 * decisions live here, small enough to test on their own, and what is worth a retry at all in
 * ../http/retryable.ts.
 */

export interface RetrySettings {
  /** Retries after the first attempt (config maxRetries, default 3). */
  maxRetries: number;
  /** The first back-off; each retry doubles it (config retryBaseDelayMs, default 500). */
  baseDelayMs: number;
  /** No single back-off is longer. */
  maxDelayMs: number;
  /** A server asking to wait longer than this is not retried: the error says how long instead. */
  maxRetryAfterMs: number;
}

export const DEFAULT_MAX_DELAY_MS = 8_000;
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/**
 * How long to wait before retry number `retry` (1-based), or undefined when the server asked for
 * a longer wait than `maxRetryAfterMs`. A server's Retry-After / X-RateLimit-Reset is honoured
 * (with a little jitter on top, so that many clients told the same time do not come back at
 * once); otherwise exponential back-off with "equal jitter": between half and all of
 * base × 2^(retry-1), capped.
 */
export function retryDelayMs(
  retry: number,
  serverWaitMs: number | undefined,
  s: RetrySettings,
  random: () => number = Math.random,
): number | undefined {
  if (serverWaitMs !== undefined) {
    if (serverWaitMs > s.maxRetryAfterMs) return undefined;
    return Math.round(serverWaitMs + random() * Math.min(250, s.baseDelayMs));
  }
  const exp = Math.min(s.maxDelayMs, s.baseDelayMs * 2 ** (retry - 1));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
