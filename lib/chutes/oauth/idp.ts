import type { ChutesContext } from '../context';
import { ChutesError } from '../errors';
import type { Account } from '../../generated/types';
import { addSecret, redact } from '../../log/redact';
import { type HeaderBag, requestHeaders } from '../http/headers';
import { errorDetail, errorFromResponse } from '../http/response-errors';
import { upstreamRequest } from '../http/upstream-request';

/** Every IdP call gets this long (connect to end of body) unless the caller aborts sooner. */
export const IDP_TIMEOUT_MS = 15_000;
const REVOKE_TIMEOUT_MS = 5_000;

/** The access token is treated as expired this long before the IdP says. */
export const EXPIRY_MARGIN_MS = 5 * 60_000;
export const MIN_LIFETIME_MS = 30_000;
/** When a token response has no expires_in at all (Chutes always sends it): its documented hour. */
const DEFAULT_EXPIRES_IN_S = 3600;

export interface TokenSet {
  accessToken: string;
  /** Absent when the response had none (a refresh then keeps the old one). */
  refreshToken?: string;
  expiresAt: string;
  /** Absent when the response had no scope. */
  scopes?: string[];
}

interface HttpAnswer {
  status: number;
  headers: HeaderBag;
  text: string;
}

/**
 * `expiresAt` from `expires_in` (seconds): minus a 5 minute margin, at least 30 s from now.
 * A value that is present but not a finite number is refused.
 */
export function expiresAtFrom(expiresIn: unknown, now = Date.now()): string {
  let seconds: number;
  if (expiresIn === undefined || expiresIn === null) seconds = DEFAULT_EXPIRES_IN_S;
  else if (typeof expiresIn === 'number') seconds = expiresIn;
  else if (typeof expiresIn === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(expiresIn)) seconds = Number(expiresIn);
  else seconds = Number.NaN;
  if (!Number.isFinite(seconds)) throw new Error(`expires_in is not a finite number of seconds (${JSON.stringify(expiresIn)})`);
  const ms = Math.max(MIN_LIFETIME_MS, seconds * 1000 - EXPIRY_MARGIN_MS);
  return new Date(now + ms).toISOString();
}

function idpUrl(app: ChutesContext, path: string): string {
  return `${app.config.idpBaseUrl.replace(/\/+$/, '')}${path}`;
}

/** An IdP answer is read up to this size (a token response is well under 1 KiB). */
const MAX_IDP_BODY_BYTES = 1024 * 1024;

async function call(
  app: ChutesContext,
  method: 'GET' | 'POST',
  url: string,
  init: { form?: Record<string, string | undefined>; bearer?: string; signal?: AbortSignal; timeoutMs?: number },
): Promise<HttpAnswer> {
  const timeoutMs = init.timeoutMs ?? IDP_TIMEOUT_MS;
  const own: Record<string, string> = { accept: 'application/json' };
  let body: string | undefined;
  if (init.form) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(init.form)) if (v !== undefined) form.set(k, v);
    body = form.toString();
    own['content-type'] = 'application/x-www-form-urlencoded';
  }
  // No configured headers: they are for the API, and the IdP is another host.
  const res = await upstreamRequest(app, {
    method,
    url,
    headers: requestHeaders({ bearer: init.bearer, own }),
    ...(body !== undefined ? { body } : {}),
    ...(init.signal ? { signal: init.signal } : {}),
    timeouts: { headersMs: timeoutMs, idleMs: timeoutMs, totalMs: timeoutMs },
  });
  const text = await res.text(MAX_IDP_BODY_BYTES, 'truncate');
  return { status: res.status, headers: res.headers, text };
}

/** The OAuth `error` code of an error body, if it has one. */
function oauthErrorCode(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    if (typeof body.error === 'string') return body.error;
    if (body.detail && typeof body.detail === 'object' && typeof (body.detail as Record<string, unknown>).error === 'string') {
      return (body.detail as Record<string, string>).error;
    }
  } catch {
    // Not JSON.
  }
  return undefined;
}

function parseTokens(a: HttpAnswer, what: string): TokenSet {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(a.text) as Record<string, unknown>;
  } catch {
    throw new ChutesError('oauth_failed', { message: `${what}: the IdP answered HTTP ${a.status} with something that is not JSON` });
  }
  if (!body || typeof body !== 'object' || typeof body.access_token !== 'string' || body.access_token === '') {
    throw new ChutesError('oauth_failed', { message: `${what}: the IdP's answer has no access_token` });
  }
  const t: TokenSet = { accessToken: body.access_token, expiresAt: '' };
  addSecret(t.accessToken);
  if (typeof body.refresh_token === 'string' && body.refresh_token !== '') {
    t.refreshToken = body.refresh_token;
    addSecret(t.refreshToken);
  }
  try {
    t.expiresAt = expiresAtFrom(body.expires_in);
  } catch (err) {
    throw new ChutesError('oauth_failed', { message: `${what}: ${(err as Error).message}` });
  }
  if (typeof body.scope === 'string' && body.scope.trim() !== '') t.scopes = body.scope.trim().split(/\s+/);
  else if (Array.isArray(body.scope)) t.scopes = body.scope.filter((s): s is string => typeof s === 'string');
  return t;
}

export interface ClientAuth {
  clientId: string;
  clientSecret?: string;
}

const CLIENT_RESOLUTION =
  'Check the client id and secret of your Chutes app (CHUTES_CLIENT_ID / CHUTES_CLIENT_SECRET, CHUTES_OAUTH_CLIENT_ID / CHUTES_OAUTH_CLIENT_SECRET, or clientId/clientSecret) and its redirect URI, then sign in again: chutes-rpc login';

const REDIRECT_RESOLUTION =
  'The redirect URI must match one registered for your Chutes app exactly (scheme, host, port and path): register it, or pass the registered one as redirectUri (CHUTES_OAUTH_REDIRECT_URI), then sign in again.';

/** Exchanges an authorization code: form-encoded, client secret in the body, with the PKCE verifier. */
export async function exchangeCode(
  app: ChutesContext,
  r: ClientAuth & { code: string; redirectUri: string; verifier: string },
  signal?: AbortSignal,
): Promise<TokenSet> {
  const url = idpUrl(app, '/idp/token');
  const a = await call(app, 'POST', url, {
    form: {
      grant_type: 'authorization_code',
      code: r.code,
      redirect_uri: r.redirectUri,
      client_id: r.clientId,
      client_secret: r.clientSecret,
      code_verifier: r.verifier,
    },
    ...(signal ? { signal } : {}),
  });
  if (a.status < 200 || a.status >= 300) {
    const code = oauthErrorCode(a.text);
    throw new ChutesError('oauth_failed', {
      message: `The token exchange failed: HTTP ${a.status}: ${errorDetail(a.text)}`,
      httpStatus: a.status,
      ...(/redirect/i.test(a.text)
        ? { resolution: REDIRECT_RESOLUTION }
        : code === 'invalid_client' || code === 'unauthorized_client'
          ? { resolution: CLIENT_RESOLUTION }
          : {}),
    });
  }
  return parseTokens(a, 'The token exchange failed');
}

export const RELOGIN_RESOLUTION = 'Sign in again: chutes-rpc login (or auth.login {method: "oauth"}).';

/** Refreshes: the answer's refresh token replaces the old one (rotation); invalid_grant means log in again. */
export async function refreshTokens(
  app: ChutesContext,
  r: ClientAuth & { refreshToken: string; profile: string },
  signal?: AbortSignal,
): Promise<TokenSet> {
  const url = idpUrl(app, '/idp/token');
  const a = await call(app, 'POST', url, {
    form: { grant_type: 'refresh_token', refresh_token: r.refreshToken, client_id: r.clientId, client_secret: r.clientSecret },
    ...(signal ? { signal } : {}),
  });
  if (a.status >= 200 && a.status < 300) return parseTokens(a, `Refreshing the sign-in of profile ${r.profile} failed`);
  const code = oauthErrorCode(a.text);
  const detail = errorDetail(a.text);
  if (code === 'invalid_grant') {
    throw new ChutesError('unauthorized', {
      message: `The sign-in of profile ${r.profile} has expired or was revoked (the IdP refused the refresh token: ${detail}); log in again.`,
      httpStatus: a.status,
      resolution: RELOGIN_RESOLUTION,
    });
  }
  if (code === 'invalid_client' || code === 'unauthorized_client') {
    throw new ChutesError('oauth_failed', {
      message: `Refreshing the sign-in of profile ${r.profile} failed: the IdP refused the client (${detail})${
        r.clientSecret
          ? ''
          : '; no client secret was available: Chutes needs it for every refresh (sign in again with the secret, which is then stored, or set CHUTES_CLIENT_SECRET)'
      }.`,
      httpStatus: a.status,
      resolution: CLIENT_RESOLUTION,
    });
  }
  if (a.status === 429 || a.status >= 500) {
    throw errorFromResponse(a.status, a.headers, a.text, {
      what: `Refreshing the sign-in of profile ${r.profile}`,
      resolution: 'The Chutes sign-in service is busy or failing: retry in a moment; if it persists, sign in again (chutes-rpc login).',
    });
  }
  throw new ChutesError('oauth_failed', {
    message: `Refreshing the sign-in of profile ${r.profile} failed: HTTP ${a.status}: ${detail}`,
    httpStatus: a.status,
    resolution: RELOGIN_RESOLUTION,
  });
}

/** `{sub, username}` from /idp/userinfo, or undefined (with the reason logged) when it cannot be had. */
export async function fetchUserinfo(app: ChutesContext, accessToken: string, signal?: AbortSignal): Promise<Account | undefined> {
  const url = idpUrl(app, '/idp/userinfo');
  try {
    const a = await call(app, 'GET', url, { bearer: accessToken, ...(signal ? { signal } : {}) });
    if (a.status < 200 || a.status >= 300) {
      app.log.warn(`userinfo: HTTP ${a.status}: ${errorDetail(a.text)} (the sign-in goes on without the account name)`);
      return undefined;
    }
    const body = JSON.parse(a.text) as Record<string, unknown>;
    const sub = typeof body.sub === 'string' || typeof body.sub === 'number' ? String(body.sub) : undefined;
    if (!sub) {
      app.log.warn('userinfo: the answer has no sub (the sign-in goes on without the account name)');
      return undefined;
    }
    return { sub, username: typeof body.username === 'string' ? body.username : null };
  } catch (err) {
    if (signal?.aborted) throw err;
    app.log.warn(`userinfo: ${redact((err as Error).message)} (the sign-in goes on without the account name)`);
    return undefined;
  }
}

/** Whether an OAuth access token works now, and if not, why. */
export type TokenCheck = { ok: true; account?: Account } | { ok: false; why: string };

/**
 * Asks the IdP whether an access token works now. GET /v1/models cannot tell (an invalid cak_ token
 * gets the public list there): /idp/userinfo can, and a token without a scope userinfo accepts
 * (403) is asked about at /idp/token/introspect. Throws when the IdP cannot be reached or answers
 * something else (the caller reports it: nothing is known then).
 */
export async function checkAccessToken(
  app: ChutesContext,
  accessToken: string,
  client: ClientAuth,
  signal?: AbortSignal,
): Promise<TokenCheck> {
  const opt = signal ? { signal } : {};
  const info = await call(app, 'GET', idpUrl(app, '/idp/userinfo'), { bearer: accessToken, ...opt });
  if (info.status >= 200 && info.status < 300) {
    const body = JSON.parse(info.text) as Record<string, unknown>;
    const sub = typeof body.sub === 'string' || typeof body.sub === 'number' ? String(body.sub) : undefined;
    return sub ? { ok: true, account: { sub, username: typeof body.username === 'string' ? body.username : null } } : { ok: true };
  }
  if (info.status === 401)
    return { ok: false, why: `Chutes refused the access token (/idp/userinfo: HTTP 401: ${errorDetail(info.text)})` };
  if (info.status === 403) {
    const a = await call(app, 'POST', idpUrl(app, '/idp/token/introspect'), {
      form: { token: accessToken, token_type_hint: 'access_token', client_id: client.clientId, client_secret: client.clientSecret },
      ...opt,
    });
    if (a.status >= 200 && a.status < 300) {
      const body = JSON.parse(a.text) as Record<string, unknown>;
      return body.active === true
        ? { ok: true }
        : { ok: false, why: 'Chutes says the access token is no longer active (/idp/token/introspect)' };
    }
    throw errorFromResponse(a.status, a.headers, a.text, { what: 'Checking the sign-in at /idp/token/introspect' });
  }
  throw errorFromResponse(info.status, info.headers, info.text, { what: 'Checking the sign-in at /idp/userinfo' });
}

/** Revokes one token at /idp/token/revoke; best effort: false (logged) when it did not work. */
export async function revokeToken(
  app: ChutesContext,
  r: ClientAuth & { token: string; hint: 'access_token' | 'refresh_token' },
): Promise<boolean> {
  const url = idpUrl(app, '/idp/token/revoke');
  try {
    const a = await call(app, 'POST', url, {
      form: { token: r.token, token_type_hint: r.hint, client_id: r.clientId, client_secret: r.clientSecret },
      timeoutMs: REVOKE_TIMEOUT_MS,
    });
    if (a.status >= 200 && a.status < 300) return true;
    app.log.warn(`revoking the ${r.hint.replace('_', ' ')}: HTTP ${a.status}: ${errorDetail(a.text)}`);
  } catch (err) {
    app.log.warn(`revoking the ${r.hint.replace('_', ' ')}: ${redact((err as Error).message)}`);
  }
  return false;
}
