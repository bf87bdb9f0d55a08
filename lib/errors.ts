import type { ProviderErrorData } from './generated/types';

export const JsonRpcCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  RequestCancelled: -32800,
} as const;

export type ProviderErrorType = ProviderErrorData['type'];

export const PROVIDER_ERROR_CODES: Record<ProviderErrorType, number> = {
  unauthorized: -32001,
  payment_required: -32002,
  forbidden: -32003,
  model_not_found: -32004,
  bad_request: -32005,
  auth_required: -32010,
  oauth_failed: -32011,
  config_invalid: -32020,
  rate_limited: -32029,
  server_error: -32050,
  model_unavailable: -32053,
  network_error: -32060,
  tee_required: -32061,
};

export const DEFAULT_RESOLUTIONS: Record<ProviderErrorType, string> = {
  unauthorized:
    'Verify the API key (or sign in again) and re-run onboarding: chutes-rpc onboard --auth-choice chutes-api-key',
  payment_required: 'Check the balance and quota of the Chutes account; TEE models may need a subscription.',
  forbidden: 'Sign in again granting the needed scopes (chutes:invoke): chutes-rpc login',
  model_not_found: 'Check the model id against models.discover (chutes-rpc models list).',
  bad_request: 'Fix the request as the message says; the API rejected it.',
  auth_required:
    'Log in first: chutes-rpc onboard --auth-choice chutes-api-key (or set CHUTES_API_KEY), or call auth.login.',
  oauth_failed:
    'Start the sign-in again (chutes-rpc login); check the client id, secret and redirect URI of your Chutes app.',
  config_invalid: 'Fix the config file; chutes-rpc config validate FILE lists the problems.',
  rate_limited: 'Back off and retry later; free-tier accounts allow about 60 requests a minute.',
  server_error: 'Retry later; if it persists, try another model.',
  model_unavailable: 'The model is cold or disabled: wait a minute and retry, or try another model.',
  network_error: 'Check the network connection and the configured baseUrl, then retry.',
  tee_required: 'Use a TEE model (models.discover with teeOnly: true), or turn teeOnly off.',
};

const RETRYABLE: ReadonlySet<ProviderErrorType> = new Set(['rate_limited', 'server_error', 'model_unavailable', 'network_error']);

/** An error that becomes a JSON-RPC error reply as it is. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

export type ProviderErrorInit = Partial<Omit<ProviderErrorData, 'type' | 'message'>> & { message: string };

/** A provider error (codes -32001 to -32061) with the data PROTOCOL.md promises. */
export class ProviderError extends RpcError {
  declare readonly data: ProviderErrorData;
  constructor(type: ProviderErrorType, init: ProviderErrorInit) {
    const data: ProviderErrorData = {
      type,
      message: init.message,
      retryable: init.retryable ?? RETRYABLE.has(type),
      resolution: init.resolution ?? DEFAULT_RESOLUTIONS[type],
    };
    if (init.httpStatus !== undefined) data.httpStatus = init.httpStatus;
    if (init.retryAfterMs !== undefined) data.retryAfterMs = init.retryAfterMs;
    if (init.attempts !== undefined) data.attempts = init.attempts;
    if (init.errors !== undefined) data.errors = init.errors;
    if (init.partial !== undefined) data.partial = init.partial;
    super(PROVIDER_ERROR_CODES[type], init.message, data);
    this.name = 'ProviderError';
  }

  get type(): ProviderErrorType {
    return this.data.type;
  }
}

export function isAbortError(err: unknown): boolean {
  return !!err && typeof err === 'object' && ((err as Error).name === 'AbortError' || (err as { code?: string }).code === 'UND_ERR_ABORTED');
}
