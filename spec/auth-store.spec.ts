import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expiresAtFrom } from '../lib/chutes/oauth/idp';
import { parseRedirect } from '../lib/chutes/oauth/login';
import { loopbackTarget } from '../lib/chutes/oauth/callback-server';
import { authorizeUrl, newPkce, newState, s256 } from '../lib/chutes/oauth/pkce';
import { clientSettings } from '../lib/chutes/oauth/settings';
import { ChutesError } from '../lib/chutes/errors';
import { Logger } from '../lib/log/logger';
import { CorruptStoreError, CredentialStore } from '../lib/store/credential-store';
import { API_KEY, writeStore } from './helpers/idp';
import { RpcProcess, tempHome } from './helpers/rpc-process';

function store(home: string, lines: string[] = []): CredentialStore {
  return new CredentialStore(home, new Logger((l) => lines.push(l)));
}

const apiKeyProfile = (key = API_KEY) => ({ method: 'apiKey' as const, apiKey: key, updatedAt: new Date().toISOString() });

describe('the credential store', () => {
  it('creates a 0700 directory and a 0600 file, written through a temp file that does not stay behind', async () => {
    const home = path.join(tempHome(), 'nested', 'home');
    const s = store(home);
    await s.update((d) => void (d.profiles.a = apiKeyProfile()));
    expect(fs.statSync(home).mode & 0o777).toBe(0o700);
    expect(fs.statSync(s.file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(home).sort()).toEqual(['credentials.json']);
    expect(s.read().profiles.a).toMatchObject({ method: 'apiKey', apiKey: API_KEY });
  });

  it('puts a looser directory and file back to 0700 and 0600', async () => {
    const home = tempHome();
    fs.chmodSync(home, 0o755);
    writeStore(home, { a: apiKeyProfile() });
    fs.chmodSync(path.join(home, 'credentials.json'), 0o644);
    const lines: string[] = [];
    const s = store(home, lines);
    s.read();
    expect(fs.statSync(s.file).mode & 0o777).toBe(0o600);
    expect(lines.join('')).toMatch(/readable by others/);
    await s.update((d) => void (d.profiles.b = apiKeyProfile()));
    expect(fs.statSync(home).mode & 0o777).toBe(0o700);
  });

  it('keeps several profiles, and concurrent writers from two stores lose nothing', async () => {
    const home = tempHome();
    const a = store(home);
    const b = store(home);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).update((d) => void (d.profiles[`p${i}`] = apiKeyProfile(`cpk_test_${i}`)))),
    );
    expect(Object.keys(a.read().profiles).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `p${i}`).sort());
  });

  it('does not write when nothing changed', async () => {
    const home = tempHome();
    const s = store(home);
    await s.update((d) => void (d.profiles.a = apiKeyProfile()));
    const before = fs.statSync(s.file).ino;
    await s.update(() => undefined);
    expect(fs.statSync(s.file).ino).toBe(before);
  });

  it.each([
    ['not JSON', '{"version": 1, "profiles": {"a": {"method": "apiKey", "apiKey": "cpk_test_secret_in_file"'],
    ['the wrong shape', JSON.stringify({ version: 1, profiles: { a: { method: 'apiKey', key: 'cpk_test_secret_in_file' } } })],
    ['an unknown version', JSON.stringify({ version: 7, profiles: {} })],
  ])('reports a corrupt file (%s) clearly, without its content, and moves it aside only when a login replaces it', async (_what, text) => {
    const home = tempHome();
    const file = path.join(home, 'credentials.json');
    fs.writeFileSync(file, text, { mode: 0o600 });
    const lines: string[] = [];
    const s = store(home, lines);
    let err: unknown;
    try {
      s.read();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CorruptStoreError);
    expect((err as ChutesError).type).toBe('auth_required');
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/corrupt/);
    expect(JSON.stringify((err as ChutesError).data)).not.toContain('cpk_test_secret_in_file');
    expect((err as ChutesError).data.resolution).toMatch(/moved aside/);
    // A change that is not a login leaves it alone.
    await expect(s.update((d) => void (d.profiles.x = apiKeyProfile()))).rejects.toBeInstanceOf(CorruptStoreError);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    // A login moves it aside (never overwrites it) and writes a new store.
    await s.update((d) => void (d.profiles.x = apiKeyProfile()), { replaceCorrupt: true });
    const aside = fs.readdirSync(home).filter((f) => f.startsWith('credentials.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(fs.readFileSync(path.join(home, aside[0]!), 'utf8')).toBe(text);
    expect(Object.keys(s.read().profiles)).toEqual(['x']);
    expect(lines.join('')).toMatch(/moved it aside/);
  });

  it('a corrupt store makes the server answer clearly, never crash', async () => {
    const home = tempHome();
    fs.writeFileSync(path.join(home, 'credentials.json'), '{ nope', { mode: 0o600 });
    const p = new RpcProcess({ home });
    try {
      const init = await p.request('initialize', {});
      expect(init.result.auth).toEqual({ authenticated: false, method: null });
      const status = await p.request('auth.status', {});
      expect(status.result).toMatchObject({ authenticated: false, problem: expect.stringMatching(/corrupt/) });
      const logout = await p.request('auth.logout', {});
      expect(logout.error?.code).toBe(-32010);
      expect(logout.error?.message).toMatch(/corrupt/);
      const login = await p.request('auth.login', { method: 'apiKey', apiKey: API_KEY, verify: false });
      expect(login.result.profile).toBe('chutes:default');
      expect(fs.readdirSync(home).some((f) => f.startsWith('credentials.json.corrupt-'))).toBe(true);
      expect((await p.request('auth.status', {})).result).toMatchObject({ authenticated: true, method: 'apiKey' });
      expect(p.schemaProblems).toEqual([]);
      expect(p.child.exitCode).toBeNull();
    } finally {
      await p.stop();
    }
  });
});

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
      secretFromParams: false,
      redirectUri: 'http://127.0.0.1:1456/oauth-callback',
      scopes: ['openid', 'chutes:invoke'],
    });
    expect(
      clientSettings({ clientId: 'cid_p', clientSecret: 'csc_test_p', scopes: ['a', 'b'], redirectUri: 'http://localhost:9/cb' }, env),
    ).toMatchObject({
      clientId: 'cid_p',
      secretFromParams: true,
      scopes: ['a', 'b'],
      redirectUri: 'http://localhost:9/cb',
    });
    expect(clientSettings({}, { CHUTES_CLIENT_ID: 'cid_x' }).scopes).toEqual(['openid', 'profile', 'chutes:invoke']);
    expect(() => clientSettings({}, {})).toThrow(/CHUTES_CLIENT_ID/);
    expect(() => clientSettings({ redirectUri: 'ftp://x/y' }, env)).toThrow(/http: or https:/);
  });
});
