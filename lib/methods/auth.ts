import type { ChutesContext } from '../chutes/context';
import { ChutesError } from '../chutes/errors';
import { redact } from '../log/redact';
import type { AuthLogoutParams, AuthLogoutResult, AuthStatusParams, AuthStatusResult } from '../generated/types';
import { defineMethod } from './method';

export const authLogin = defineMethod(
  'auth.login',
  (params, { chutes, signal, notify }) => {
    if (params.method === 'apiKey') {
      const { apiKeyLogin } = require('../chutes/api-key') as typeof import('../chutes/api-key');
      return apiKeyLogin(chutes, params, signal);
    }
    const { oauthLogin } = require('../chutes/oauth/login') as typeof import('../chutes/oauth/login');
    return oauthLogin(chutes, params, { signal, onAuthorizeUrl: (n) => notify('auth.authorizeUrl', n) });
  },
  { needsConfig: true },
);

export const authComplete = defineMethod('auth.complete', (params, { chutes }) => {
  const { completeLogin } = require('../chutes/oauth/login') as typeof import('../chutes/oauth/login');
  return completeLogin(chutes, params.loginId, params.redirectUrl);
});

export const authStatus = defineMethod('auth.status', (params, { chutes, signal }) => statusOf(chutes, params, signal), { needsConfig: true });

export const authLogout = defineMethod('auth.logout', (params, { chutes }) => logout(chutes, params), { needsConfig: true });

/** Results are not redacted on the way out (errors are): the problem text is, here. */
function problemText(err: ChutesError): string {
  return redact(`${err.message} ${err.data.resolution}`);
}

/**
 * Which credential calls would use (see CredentialResolver for the order), refreshing an expired
 * sign-in first. Never a secret; problems with the credential are reported, not thrown.
 */
export async function statusOf(app: ChutesContext, params: AuthStatusParams, signal?: AbortSignal): Promise<AuthStatusResult> {
  const resolver = app.credentials;
  let profiles: string[] = [];
  try {
    profiles = Object.keys(resolver.store().read().profiles);
  } catch (err) {
    if (!(err instanceof ChutesError)) throw err;
  }
  let sel: ReturnType<typeof resolver.select>;
  try {
    sel = resolver.select(params.profile);
  } catch (err) {
    if (!(err instanceof ChutesError)) throw err;
    return { authenticated: false, method: null, profile: params.profile ?? null, profiles, problem: problemText(err) };
  }
  if (!sel) return { authenticated: false, method: null, profile: null, profiles };
  let problem: string | undefined;
  try {
    sel = await resolver.fresh(sel, signal);
  } catch (err) {
    if (!(err instanceof ChutesError)) throw err;
    problem = problemText(err);
  }
  const c = sel.credential;
  const result: AuthStatusResult = { authenticated: problem === undefined, method: c.method, profile: c.profile ?? null, source: c.source, profiles };
  const stored = sel.stored;
  if (stored?.method === 'oauth') {
    if (stored.account) result.account = stored.account;
    result.scopes = stored.scopes;
    result.expiresAt = stored.expiresAt;
  }
  if (problem !== undefined) result.problem = problem;
  return result;
}

/** Revokes a stored sign-in's tokens (best effort) and removes the profile, under the store's lock. */
export async function logout(app: ChutesContext, params: AuthLogoutParams): Promise<AuthLogoutResult> {
  const resolver = app.credentials;
  const name = params.profile ?? resolver.storedChoice();
  const config = app.config;
  const stillInEffect = config.apiKey ? 'the API key in the config' : config.env.CHUTES_API_KEY?.trim() ? 'CHUTES_API_KEY' : undefined;
  if (stillInEffect && params.profile === undefined) app.log.warn(`${stillInEffect} is not stored by chutes-rpc and stays in effect after logout`);
  if (!name) return { loggedOut: true };
  const revoked = await resolver.store().update(async (data) => {
    const p = data.profiles[name];
    if (!p) return undefined;
    let ok: boolean | undefined;
    if (p.method === 'oauth') {
      const { revokeToken } = require('../chutes/oauth/idp') as typeof import('../chutes/oauth/idp');
      const secret = p.clientSecret ?? (config.env.CHUTES_CLIENT_SECRET?.trim() || undefined);
      const client = { clientId: p.clientId, ...(secret ? { clientSecret: secret } : {}) };
      const results = await Promise.all([
        p.refreshToken ? revokeToken(app, { ...client, token: p.refreshToken, hint: 'refresh_token' }) : Promise.resolve(true),
        revokeToken(app, { ...client, token: p.accessToken, hint: 'access_token' }),
      ]);
      ok = results.every(Boolean);
    }
    delete data.profiles[name];
    return ok;
  });
  const result: AuthLogoutResult = { loggedOut: true, profile: name };
  if (revoked !== undefined) result.revoked = revoked;
  return result;
}
