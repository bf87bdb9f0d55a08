import { ChutesError, type ChutesErrorInit, type ProviderErrorType } from '../errors';
import { redact } from '../../log/redact';
import type { HeaderBag } from './headers';
import { limitFacts } from './limit-errors';
import { serverWaitMs } from './rate-limit-headers';
import { isRetryableStatus } from './retryable';

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
  const init: ChutesErrorInit = {
    message: `${extra.what ? `${extra.what}: ` : ''}HTTP ${status}: ${detail}`,
    httpStatus: status,
    retryable: isRetryableStatus(status),
  };
  const wait = serverWaitMs(headers);
  if (wait !== undefined) init.retryAfterMs = wait;
  if (extra.attempts !== undefined) init.attempts = extra.attempts;
  const limit = limitFacts(status, bodyText);
  if (limit.retryable === false) init.retryable = false;
  if (limit.resetAt !== undefined) init.resetAt = limit.resetAt;
  if (limit.reason !== undefined) init.reason = limit.reason;
  if (limit.resolution !== undefined) init.resolution = limit.resolution;
  if (extra.resolution !== undefined) init.resolution = extra.resolution;
  return new ChutesError(type, init);
}
