import { providerErrors, type ProviderErrorType } from '../generated/errors';
import type { AssistantMessage, ProviderErrorData } from '../generated/types';

export type { ProviderErrorType };

export type ChutesErrorInit = Partial<Omit<ProviderErrorData, 'type' | 'message'>> & {
  message: string;
  /** The lower-level error this one describes (kept out of `data`: it is not reported). */
  cause?: unknown;
};

/**
 * A failure of the provider, described for the user: what kind (`type`), what happened, what to do
 * about it, and whether a retry can help. Knows nothing of how a caller reports it.
 */
export class ChutesError extends Error {
  readonly data: ProviderErrorData;

  constructor(type: ProviderErrorType, init: ChutesErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ChutesError';
    const known = providerErrors[type];
    const data: ProviderErrorData = {
      type,
      message: init.message,
      retryable: init.retryable ?? known.retryable,
      resolution: init.resolution ?? known.resolution,
    };
    if (init.httpStatus !== undefined) data.httpStatus = init.httpStatus;
    if (init.retryAfterMs !== undefined) data.retryAfterMs = init.retryAfterMs;
    if (init.resetAt !== undefined) data.resetAt = init.resetAt;
    if (init.reason !== undefined) data.reason = init.reason;
    if (init.attempts !== undefined) data.attempts = init.attempts;
    if (init.errors !== undefined) data.errors = init.errors;
    if (init.partial !== undefined) data.partial = init.partial;
    if (init.attestation !== undefined) data.attestation = init.attestation;
    this.data = data;
  }

  get type(): ProviderErrorType {
    return this.data.type;
  }
}

/** A call stopped by its caller's signal, with what it had produced so far. */
export class CallCancelled extends Error {
  constructor(
    readonly partial: AssistantMessage | null,
    readonly attempts?: number,
  ) {
    super('Request cancelled');
    this.name = 'CallCancelled';
  }
}

export { isAbortError } from '../util/abort';
