import type { ChutesContext } from './context';
import { ChutesError } from './errors';
import type { ApiKeyLoginParams, AuthLoginResult, StoredApiKeyProfile } from '../generated/types';
import { apiKeyFormatProblem } from '../config/api-key-format';
import { addSecret } from '../log/redact';
import { DEFAULT_API_KEY_PROFILE } from './credentials';
import { requestHeaders } from './http/headers';
import { errorDetail, errorFromResponse } from './http/response-errors';
import { upstreamRequest, type UpstreamResponse } from './http/upstream-request';

/** An error answer's body is read this far, for its detail. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * Checks a key with GET {baseUrl}/models carrying it: the list is public, but an invalid bearer
 * is answered 401. Throws unauthorized for a rejected key, network_error when the API cannot be reached.
 */
export async function verifyApiKey(app: ChutesContext, apiKey: string, signal?: AbortSignal): Promise<void> {
  const config = app.config;
  const url = `${config.baseUrl}/models`;
  const timeoutMs = config.discoveryTimeoutMs;
  let res: UpstreamResponse;
  try {
    res = await upstreamRequest(app, {
      method: 'GET',
      url,
      headers: requestHeaders({ configured: [config.headers], bearer: apiKey, own: { accept: 'application/json' } }),
      ...(signal ? { signal } : {}),
      timeouts: { headersMs: timeoutMs, idleMs: timeoutMs, totalMs: timeoutMs },
    });
  } catch (err) {
    if (signal?.aborted || !(err instanceof ChutesError)) throw err;
    throw new ChutesError('network_error', {
      message: `Could not verify the API key: ${err.message}; nothing was stored.`,
      retryable: true,
    });
  }
  // Only an error answer's body matters: of any body only the start is read.
  const text = await res.text(MAX_ERROR_BODY_BYTES, 'truncate').catch(() => '');
  if (res.status === 401) {
    throw new ChutesError('unauthorized', {
      message: `Chutes rejected the API key (GET ${url}: HTTP 401: ${errorDetail(text)}); nothing was stored.`,
      httpStatus: 401,
      resolution:
        'Check the key (Chutes API keys start with cpk_) in your Chutes account, then log in again; or pass verify: false to store it unchecked.',
    });
  }
  if (res.status < 200 || res.status >= 300) {
    const e = errorFromResponse(res.status, res.headers, text, { what: `Could not verify the API key (GET ${url})` });
    throw new ChutesError(e.type, { ...e.data, message: `${e.message}; nothing was stored.` });
  }
}

/** auth.login {method: "apiKey"}: the key from the params, else CHUTES_API_KEY; verified unless verify is false. */
export async function apiKeyLogin(app: ChutesContext, params: ApiKeyLoginParams, signal?: AbortSignal): Promise<AuthLoginResult> {
  const given = params.apiKey?.trim() || app.config.env.CHUTES_API_KEY?.trim();
  if (!given) {
    throw new ChutesError('auth_required', {
      message: 'No API key to log in with: pass apiKey or set CHUTES_API_KEY.',
      resolution:
        'Create an API key in your Chutes account (it starts with cpk_), then: chutes-rpc onboard --auth-choice chutes-api-key --chutes-api-key cpk_...',
    });
  }
  const apiKey = given;
  addSecret(apiKey);
  const odd = apiKeyFormatProblem(apiKey);
  if (odd) app.log.warn(`the API key given to auth.login ${odd}`);
  const verify = params.verify ?? true;
  if (verify) await verifyApiKey(app, apiKey, signal);
  const profile = params.profile ?? DEFAULT_API_KEY_PROFILE;
  const now = new Date().toISOString();
  await app.store.update(
    (data) => {
      const old = data.profiles[profile];
      const stored: StoredApiKeyProfile = { method: 'apiKey', apiKey, verified: verify, createdAt: old?.createdAt ?? now, updatedAt: now };
      data.profiles[profile] = stored;
    },
    { replaceCorrupt: true },
  );
  return { profile, method: 'apiKey', verified: verify };
}
