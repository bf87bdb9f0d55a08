import { AttemptFailure } from '../chat/attempt-failure';
import { ChutesError, type ChutesErrorInit, type ProviderErrorType } from '../errors';
import type { HeaderBag } from '../http/headers';
import { errorDetail } from '../http/response-errors';
import { serverWaitMs } from '../http/rate-limit-headers';

/** The API's answer to a nonce it does not know (or no longer, or for another instance). */
export function isNonceRefusal(status: number, bodyText: string): boolean {
  return status === 403 && /invalid, expired, or already-used nonce/i.test(bodyText);
}

/** What a non-200 answer of POST /e2e/invoke means, and whether the instance it named should be left alone. */
export interface InvokeFailure {
  failure: AttemptFailure;
  /** The instance is gone, full, or cannot take the key exchange: its nonces are of no more use. */
  dropInstance: boolean;
}

/**
 * The status mapping of /e2e/invoke: the API's own refusals, and the instance's statuses as the API
 * relays them. What the model server said is encrypted to the API's transport key, so a 400 from
 * the instance cannot be read by anyone on this side.
 */
export function invokeFailure(status: number, headers: HeaderBag, bodyText: string): InvokeFailure {
  let detail = errorDetail(bodyText);
  let type: ProviderErrorType;
  let retryable = false;
  let dropInstance = false;
  if (status === 400) {
    type = 'bad_request';
    if (/^[A-Za-z0-9+/=_-]{64,}…?$/.test(detail))
      detail = 'the instance refused the request; its reason is encrypted and cannot be read here';
  } else if (status === 403) type = 'forbidden';
  else if (status === 404 && /instance not found/i.test(detail)) {
    [type, retryable, dropInstance] = ['model_unavailable', true, true];
  } else if (status === 404) type = 'model_not_found';
  else if (status === 410) [type, retryable, dropInstance] = ['model_unavailable', true, true];
  else if (status === 429) [type, retryable, dropInstance] = ['rate_limited', true, /capacity/i.test(detail)];
  else if (status === 502) [type, retryable, dropInstance] = ['server_error', true, true];
  else if (status === 503) [type, retryable] = ['model_unavailable', true];
  else if (status === 401) type = 'unauthorized';
  else if (status === 402) type = 'payment_required';
  else [type, retryable] = status >= 500 ? ['server_error', true] : ['bad_request', false];
  const init: ChutesErrorInit = { message: `E2EE invoke: HTTP ${status}: ${detail}`, httpStatus: status, retryable };
  const wait = serverWaitMs(headers);
  if (wait !== undefined) init.retryAfterMs = wait;
  return { failure: new AttemptFailure(new ChutesError(type, init), retryable, wait), dropInstance };
}

/** An encrypted answer that cannot be opened: never retried (the relay may be tampering), never shown as text. */
export function faultFailure(err: Error): AttemptFailure {
  return new AttemptFailure(new ChutesError('network_error', { message: err.message, retryable: false, cause: err }), false);
}
