/*
 * What is worth another try, in one place: the answers and the connection failures after which a
 * request may be sent again (the chat call does so only before its first delta).
 */

/** 429 and the 5xx a busy or restarting server answers; every other status is final. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/**
 * Connection failures. Header and body timeouts are not among them: the server took the request
 * and may still be working on it, and each attempt already waited the whole configured timeout.
 */
const RETRYABLE_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

/** Whether an error (or its cause, as fetch-style errors wrap it) has a retryable connection error code. */
export function isRetryableNetworkError(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } } | undefined;
  return [e?.code, e?.cause?.code].some((c) => c !== undefined && RETRYABLE_NETWORK_CODES.has(c));
}
