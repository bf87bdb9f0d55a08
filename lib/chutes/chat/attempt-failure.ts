import { ChutesError, type ChutesErrorInit } from '../errors';
import type { HeaderBag } from '../http/headers';
import { errorDetail, errorFromResponse, errorTypeForStatus } from '../http/response-errors';
import { isRetryableNetworkError, isRetryableStatus } from '../http/retryable';

/** Why one attempt of a chat call failed, thrown from the attempt; the retry loop decides what follows. */
export class AttemptFailure extends Error {
  override readonly name = 'AttemptFailure';

  constructor(
    /** What the call ends with when no retry follows. */
    readonly error: ChutesError,
    /** Worth retrying, if nothing was sent to the host yet. */
    readonly retryable: boolean,
    /** Retry-After / X-RateLimit-Reset of the answer, when it had one. */
    readonly serverWaitMs?: number,
  ) {
    super(error.message);
  }
}

/** A non-2xx answer. */
export function httpFailure(status: number, headers: HeaderBag, bodyText: string): AttemptFailure {
  const error = errorFromResponse(status, headers, bodyText);
  // A 429 that waiting a little cannot lift (the daily limit) is not retried, whatever its status.
  return new AttemptFailure(error, isRetryableStatus(status) && error.data.retryable, error.data.retryAfterMs);
}

/** A request that got no answer (a network_error from upstreamRequest, its undici error as `cause`). */
export function networkFailure(error: ChutesError): AttemptFailure {
  return new AttemptFailure(error, isRetryableNetworkError(error.cause));
}

/** An error the upstream reported inside the stream (`{"error": ...}`, with or without data:). */
export function streamErrorFailure(value: Record<string, unknown>): AttemptFailure {
  const inner = (value.error ?? value.detail) as Record<string, unknown> | string | undefined;
  const status = typeof inner === 'object' && inner ? statusIn(inner) : undefined;
  const type = status !== undefined ? errorTypeForStatus(status) : 'server_error';
  const init: ChutesErrorInit = { message: `the upstream stream failed: ${errorDetail(JSON.stringify(value))}` };
  if (status !== undefined) init.httpStatus = status;
  const error = new ChutesError(type, init);
  return new AttemptFailure(error, error.data.retryable);
}

function statusIn(inner: Record<string, unknown>): number | undefined {
  return ['code', 'status_code', 'status'].map((k) => Number(inner[k])).find((n) => Number.isInteger(n) && n >= 400 && n <= 599);
}

/** An event whose data is neither [DONE] nor a JSON object. */
export function badEventFailure(data: string): AttemptFailure {
  const message = `the stream sent an event that is not a JSON object: ${errorDetail(data.slice(0, 300))}`;
  return new AttemptFailure(new ChutesError('server_error', { message }), true);
}

/**
 * The connection failed mid-stream (`err`), or the stream ended without [DONE] (`err` undefined);
 * `strayLine` is the first line of the body that was not SSE, which says more than "no [DONE]".
 */
export function brokenStreamFailure(err: unknown, deltas: number, strayLine: string | undefined): AttemptFailure {
  const what = `${deltas} delta${deltas === 1 ? '' : 's'} received`;
  if (err === undefined) {
    const sent = strayLine !== undefined ? `; the server sent: ${errorDetail(strayLine)}` : '';
    return new AttemptFailure(new ChutesError('network_error', { message: `the stream ended before [DONE] (${what})${sent}` }), true);
  }
  const e = err as { code?: string; message?: string; cause?: { message?: string } };
  const why = e?.cause?.message ?? e?.message ?? String(err);
  const message = `the stream broke before [DONE] (${what}): ${why}${e?.code && !why.includes(e.code) ? ` (${e.code})` : ''}`;
  return new AttemptFailure(
    new ChutesError('network_error', { message }),
    isRetryableNetworkError(err) || /closed|terminated|reset/i.test(why),
  );
}
