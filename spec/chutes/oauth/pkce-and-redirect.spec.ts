import * as crypto from 'node:crypto';
import { expiresAtFrom } from '../../../lib/chutes/oauth/idp';
import { parseRedirect } from '../../../lib/chutes/oauth/login';
import { loopbackTarget } from '../../../lib/chutes/oauth/callback-server';
import { authorizeUrl, newPkce, newState, s256 } from '../../../lib/chutes/oauth/pkce';
import { clientSettings } from '../../../lib/chutes/oauth/settings';

describe('OAuth pieces', () => {
  it('PKCE: a 43-character verifier, its S256 challenge, and a state independent of both', () => {
    const a = newPkce();
    const b = newPkce();
    expect(a.verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.challenge).toBe(s256(a.verifier));
    // Checked against Node's own base64url encoding of the SHA-256 digest.
    expect(a.challenge).toBe(crypto.createHash('sha256').update(a.verifier).digest('base64url'));
    expect(a.verifier).not.toBe(b.verifier);
    const states = new Set(Array.from({ length: 50 }, () => newState()));
    expect(states.size).toBe(50);
    expect(states.has(a.verifier)).toBe(false);
  });

  it('the authorize URL carries every parameter the IdP needs', () => {
    const u = new URL(
      authorizeUrl('https://api.chutes.ai/', {
        clientId: 'cid_x',
        redirectUri: 'http://127.0.0.1:1456/oauth-callback',
        scopes: ['openid', 'chutes:invoke'],
        state: 'st',
        challenge: 'ch',
      }),
    );
    expect(u.origin + u.pathname).toBe('https://api.chutes.ai/idp/authorize');
    expect(u.searchParams.get('scope')).toBe('openid chutes:invoke');
    expect(u.searchParams.get('code_challenge_method')).toBe('S256');
    expect(u.searchParams.get('response_type')).toBe('code');
  });

  it('expiresAt is expires_in minus 5 minutes, at least 30 s, and refuses non-finite values', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(expiresAtFrom(3600, now)).toBe('2025-01-01T00:55:00.000Z');
    expect(expiresAtFrom('3600', now)).toBe('2025-01-01T00:55:00.000Z');
    expect(expiresAtFrom(60, now)).toBe('2025-01-01T00:00:30.000Z');
    expect(expiresAtFrom(0, now)).toBe('2025-01-01T00:00:30.000Z');
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 'soon', {}, true]) expect(() => expiresAtFrom(bad, now)).toThrow(/finite/);
  });

  it('a pasted redirect: the full URL or its query; never a bare code', () => {
    expect(parseRedirect('http://127.0.0.1:1456/oauth-callback?code=abc&state=xyz').get('code')).toBe('abc');
    expect(parseRedirect('  ?code=abc&state=xyz \n').get('state')).toBe('xyz');
    expect(parseRedirect('code=abc&state=xyz').get('code')).toBe('abc');
    expect(parseRedirect('https://app.example/cb?error=access_denied&state=xyz').get('error')).toBe('access_denied');
    expect(() => parseRedirect('abc123')).toThrow(/bare code/);
    expect(() => parseRedirect('http://127.0.0.1:1456/oauth-callback?code=abc')).toThrow(/no state/);
    expect(() => parseRedirect('http://127.0.0.1:1456/oauth-callback')).toThrow(/not a sign-in redirect/);
  });

  it('listens only for loopback http: redirect URIs, on the exact path', () => {
    expect(loopbackTarget('http://127.0.0.1:1456/oauth-callback')).toEqual({ host: '127.0.0.1', port: 1456, path: '/oauth-callback' });
    expect(loopbackTarget('http://localhost:8080/cb')).toEqual({ host: '127.0.0.1', port: 8080, path: '/cb' });
    expect(loopbackTarget('http://[::1]:9000/x')).toEqual({ host: '::1', port: 9000, path: '/x' });
    expect(loopbackTarget('https://127.0.0.1:1456/oauth-callback')).toBeUndefined();
    expect(loopbackTarget('http://0.0.0.0:1456/oauth-callback')).toBeUndefined();
    expect(loopbackTarget('http://example.com:1456/oauth-callback')).toBeUndefined();
  });

  it('client settings: params first, then CHUTES_* env, then the defaults', () => {
    const env = { CHUTES_CLIENT_ID: 'cid_env', CHUTES_CLIENT_SECRET: 'csc_test_env', CHUTES_OAUTH_SCOPES: 'openid chutes:invoke' };
    expect(clientSettings({}, env)).toEqual({
      clientId: 'cid_env',
      clientSecret: 'csc_test_env',
      redirectUri: 'http://127.0.0.1:1456/oauth-callback',
      scopes: ['openid', 'chutes:invoke'],
    });
    expect(
      clientSettings({ clientId: 'cid_p', clientSecret: 'csc_test_p', scopes: ['a', 'b'], redirectUri: 'http://localhost:9/cb' }, env),
    ).toMatchObject({
      clientId: 'cid_p',
      scopes: ['a', 'b'],
      redirectUri: 'http://localhost:9/cb',
    });
    expect(clientSettings({}, { CHUTES_CLIENT_ID: 'cid_x' }).scopes).toEqual(['openid', 'profile', 'chutes:invoke']);
    // The names the official "Sign in with Chutes" app uses are accepted too; CHUTES_CLIENT_* win.
    expect(clientSettings({}, { CHUTES_OAUTH_CLIENT_ID: 'cid_o', CHUTES_OAUTH_CLIENT_SECRET: 'csc_test_o' })).toMatchObject({
      clientId: 'cid_o',
      clientSecret: 'csc_test_o',
    });
    expect(clientSettings({}, { ...env, CHUTES_OAUTH_CLIENT_ID: 'cid_o' }).clientId).toBe('cid_env');
    expect(() => clientSettings({}, {})).toThrow(/CHUTES_CLIENT_ID/);
    expect(() => clientSettings({ redirectUri: 'ftp://x/y' }, env)).toThrow(/http: or https:/);
  });
});
