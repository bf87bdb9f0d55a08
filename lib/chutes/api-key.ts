import type { ChutesContext } from './context';
import { ChutesError } from './errors';
import type { ApiKeyLoginParams, AuthLoginResult, StoredApiKeyProfile } from '../generated/types';
import { addSecret } from '../log/redact';
import { DEFAULT_API_KEY_PROFILE } from './credentials';
import { errorDetail, errorFromNetwork, errorFromResponse, isAbortError } from './http-errors';

/**
 * Checks a key with GET {baseUrl}/models carrying it: the list is public, but an invalid bearer
 * is answered 401. Throws -32001 for a rejected key, -32060 when the API cannot be reached.
 */
export async function verifyApiKey(app: ChutesContext, apiKey: string, signal?: AbortSignal): Promise<void> {
  const { request } = require('undici') as typeof import('undici');
  const config = app.config;
  const url = `${config.baseUrl}/models`;
  const timeoutMs = config.discoveryTimeoutMs;
  const timeout = AbortSignal.timeout(timeoutMs);
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(url, {
      method: 'GET',
      // Lowercased, so a configured Authorization header cannot ride along with the key being checked.
      headers: { ...lowercaseKeys(config.headers), accept: 'application/json', authorization: `Bearer ${apiKey}` },
      dispatcher: app.http,
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  } catch (err) {
    if (signal?.aborted) throw signal.reason ?? err;
    if (timeout.aborted || isAbortError(err)) {
      throw new ChutesError('network_error', { message: `Could not verify the API key: GET ${url} timed out after ${timeoutMs} ms; nothing was stored.` });
    }
    const e = errorFromNetwork(err, { method: 'GET', url });
    throw new ChutesError('network_error', { message: `Could not verify the API key: ${e.message}; nothing was stored.`, retryable: true });
  }
  const text = await res.body.text().catch(() => '');
  if (res.statusCode === 401) {
    throw new ChutesError('unauthorized', {
      message: `Chutes rejected the API key (GET ${url}: HTTP 401: ${errorDetail(text)}); nothing was stored.`,
      httpStatus: 401,
      resolution: 'Check the key (Chutes API keys start with cpk_) in your Chutes account, then log in again; or pass verify: false to store it unchecked.',
    });
  }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    const e = errorFromResponse(res.statusCode, res.headers, text, { what: `Could not verify the API key (GET ${url})` });
    throw new ChutesError(e.type, { ...e.data, message: `${e.message}; nothing was stored.` });
  }
}

/** auth.login {method: "apiKey"}: the key from the params, else CHUTES_API_KEY; verified unless verify is false. */
export async function apiKeyLogin(app: ChutesContext, params: ApiKeyLoginParams, signal?: AbortSignal): Promise<AuthLoginResult> {
  const given = params.apiKey?.trim() || app.config.env.CHUTES_API_KEY?.trim();
  if (!given) {
    throw new ChutesError('auth_required', {
      message: 'No API key to log in with: pass apiKey or set CHUTES_API_KEY.',
      resolution: 'Create an API key in your Chutes account (it starts with cpk_), then: chutes-rpc onboard --auth-choice chutes-api-key --chutes-api-key cpk_...',
    });
  }
  const apiKey = given;
  addSecret(apiKey);
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

function lowercaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
