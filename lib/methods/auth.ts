import { statusOf } from '../chutes/auth-status';
import { logout } from '../chutes/logout';
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
  { needsConfig: true, reachesUpstream: true },
);

export const authComplete = defineMethod('auth.complete', (params, { chutes }) => {
  const { completeLogin } = require('../chutes/oauth/login') as typeof import('../chutes/oauth/login');
  return completeLogin(chutes, params.loginId, params.redirectUrl);
});

export const authStatus = defineMethod('auth.status', (params, { chutes, signal }) => statusOf(chutes, params, signal), {
  needsConfig: true,
});

export const authLogout = defineMethod('auth.logout', (params, { chutes }) => logout(chutes, params), { needsConfig: true });
