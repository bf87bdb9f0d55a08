import type { AuthLogoutParams, AuthLogoutResult } from '../generated/types';
import type { ChutesContext } from './context';
import { envClientSecret } from './oauth/settings';

/**
 * Revokes a stored sign-in's tokens (best effort) and removes the profile, under the store's lock.
 * Both tokens: revoking the refresh token leaves the access tokens made from it alive.
 */
export async function logout(app: ChutesContext, params: AuthLogoutParams): Promise<AuthLogoutResult> {
  const resolver = app.credentials;
  const name = params.profile ?? resolver.storedChoice();
  const config = app.config;
  const stillInEffect = config.apiKey ? 'the API key in the config' : config.env.CHUTES_API_KEY?.trim() ? 'CHUTES_API_KEY' : undefined;
  if (stillInEffect && params.profile === undefined)
    app.log.warn(`${stillInEffect} is not stored by chutes-rpc and stays in effect after logout`);
  if (!name) return { loggedOut: true, removed: false };
  let removed = false;
  const revoked = await resolver.store().update(async (data) => {
    const p = data.profiles[name];
    if (!p) return undefined;
    removed = true;
    let ok: boolean | undefined;
    if (p.method === 'oauth') {
      const { revokeToken } = require('./oauth/idp') as typeof import('./oauth/idp');
      const secret = p.clientSecret ?? envClientSecret(config.env);
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
  const result: AuthLogoutResult = { loggedOut: true, profile: name, removed };
  if (revoked !== undefined) result.revoked = revoked;
  return result;
}
