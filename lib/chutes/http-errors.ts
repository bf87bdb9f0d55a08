import { ChutesError, isAbortError, type ProviderErrorType } from './errors';
import { redact } from '../log/redact';

const MAX_DETAIL_CHARS = 500;

const TYPE_BY_STATUS: Record<number, ProviderErrorType> = {
  400: 'bad_request',
  401: 'unauthorized',
  402: 'payment_required',
  403: 'forbidden',
  404: 'model_not_found',
  422: 'bad_request',
  426: 'tee_required',
  429: 'rate_limited',
  503: 'model_unavailable',
};

export function errorTypeForStatus(status: number): ProviderErrorType {
  return TYPE_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : 'bad_request');
}

/** 429 and 5xx are worth another try; 4xx otherwise are not. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

type HeaderBag = Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Retry-After (seconds or an HTTP date), else X-RateLimit-Reset (epoch seconds or seconds from now). */
export function retryAfterMs(headers: HeaderBag, now = Date.now()): number | undefined {
  const ra = header(headers, 'retry-after');
  if (ra !== undefined) {
    if (/^\d+(\.\d+)?$/.test(ra.trim())) return Math.round(Number(ra) * 1000);
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = header(headers, 'x-ratelimit-reset');
  if (reset !== undefined && /^\d+(\.\d+)?$/.test(reset.trim())) {
    const n = Number(reset);
    // Large values are an epoch time; small ones a delay in seconds.
    return n > 1e9 ? Math.max(0, Math.round(n * 1000 - now)) : Math.round(n * 1000);
  }
  return undefined;
}

/** The human text of an error body: FastAPI `detail` (string or object), OpenAI `error`, or the text itself. */
export function errorDetail(bodyText: string): string {
  let detail: string = bodyText.trim();
  try {
    const body = JSON.parse(bodyText) as Record<string, unknown>;
    const d = body.detail ?? body.error ?? body.message;
    if (typeof d === 'string') detail = d;
    else if (d && typeof d === 'object') {
      const o = d as Record<string, unknown>;
      detail = typeof o.message === 'string' ? o.message : typeof o.msg === 'string' ? o.msg : JSON.stringify(d);
      if (typeof o.quota_reset_timestamp !== 'undefined') detail += ` (quota resets at ${String(o.quota_reset_timestamp)})`;
    } else if (Array.isArray(d)) detail = JSON.stringify(d);
    if (typeof body.error_description === 'string') detail += `: ${body.error_description}`;
  } catch {
    // Not JSON: the text is the detail.
  }
  if (detail === '') detail = 'no details given';
  detail = redact(detail);
  return detail.length > MAX_DETAIL_CHARS ? `${detail.slice(0, MAX_DETAIL_CHARS)}…` : detail;
}

/** A provider error for a non-2xx HTTP answer. */
export function errorFromResponse(
  status: number,
  headers: HeaderBag,
  bodyText: string,
  extra: { attempts?: number; what?: string; resolution?: string } = {},
): ChutesError {
  const type = errorTypeForStatus(status);
  const detail = errorDetail(bodyText);
  const init: ConstructorParameters<typeof ChutesError>[1] = {
    message: `${extra.what ? `${extra.what}: ` : ''}HTTP ${status}: ${detail}`,
    httpStatus: status,
    retryable: isRetryableStatus(status),
  };
  const wait = retryAfterMs(headers);
  if (wait !== undefined) init.retryAfterMs = wait;
  if (extra.attempts !== undefined) init.attempts = extra.attempts;
  if (extra.resolution !== undefined) init.resolution = extra.resolution;
  return new ChutesError(type, init);
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** A provider error for a request that got no HTTP answer (or lost it). */
export function errorFromNetwork(
  err: unknown,
  request: { method: string; url: string; attempts?: number; replayFile?: string },
): ChutesError {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  let message: string;
  if (code === 'UND_MOCK_ERR_MOCK_NOT_MATCHED' || /No snapshot found/.test(e?.message ?? '')) {
    message = `replay: no recorded response for ${request.method} ${request.url}${request.replayFile ? ` in ${request.replayFile}` : ''}`;
  } else if (code && TIMEOUT_CODES.has(code)) {
    message = `${request.method} ${request.url} timed out (${code})`;
  } else {
    const why = e?.cause?.message ?? e?.message ?? String(err);
    message = `${request.method} ${request.url} failed: ${why}${code && !why.includes(code) ? ` (${code})` : ''}`;
  }
  const init: ConstructorParameters<typeof ChutesError>[1] = { message: redact(message), retryable: true };
  if (request.attempts !== undefined) init.attempts = request.attempts;
  return new ChutesError('network_error', init);
}

export { isAbortError };
