import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import {
  browse,
  CLIENT_ID,
  CLIENT_SECRET,
  type FakeIdp,
  freePort,
  get,
  loopbackConfig,
  readStore,
  redirectFromIdp,
  startApi,
  startIdp,
} from '../helpers/idp';
import { type Loopback, writeConfig } from '../helpers/loopback';
import { type RpcMessage, RpcProcess, tempHome } from '../helpers/rpc-process';

const OAUTH_ENV = { CHUTES_CLIENT_ID: CLIENT_ID, CHUTES_CLIENT_SECRET: CLIENT_SECRET };

let idp: FakeIdp;
let api: Loopback;
const procs: RpcProcess[] = [];

beforeEach(async () => {
  idp = await startIdp();
  api = await startApi(() => true);
});

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
  await idp.close();
  await api.close();
});

function spawn(env: Record<string, string | undefined> = OAUTH_ENV, home = tempHome()): RpcProcess {
  writeConfig(home, loopbackConfig(api.url, idp.url));
  const p = new RpcProcess({ home, env });
  procs.push(p);
  return p;
}

/** Every secret the IdP issued or the test used: none may appear in the process's output. */
function secrets(): string[] {
  return [CLIENT_SECRET, ...idp.accessTokens, ...idp.refreshTokens.keys(), ...idp.codes.keys()];
}

function expectNoSecretIn(p: RpcProcess): void {
  const text = `${p.stdout.toString('utf8')}\n${p.stderr}`;
  for (const s of secrets()) expect(text).not.toContain(s);
  expect(text).not.toMatch(/\b(cak|crt|csc)_test/);
}

async function authorizeNotification(p: RpcProcess): Promise<RpcMessage> {
  return p.next((m) => m.method === 'auth.authorizeUrl');
}

function connectRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`http://127.0.0.1:${port}/probe`, (res) => {
      res.resume();
      resolve(false);
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
  });
}

describe('Sign in with Chutes (auth.login {method: "oauth"})', () => {
  it('logs in through the loopback callback, driven by a client that follows redirects like a browser', async () => {
    const p = spawn();
    const port = await freePort();
    const redirectUri = `http://127.0.0.1:${port}/oauth-callback`;
    const login = p.request('auth.login', { method: 'oauth', redirectUri, timeoutMs: 10_000 });
    const n = await authorizeNotification(p);
    const u = new URL(n.params.url);
    expect(u.origin + u.pathname).toBe(`${idp.url}/idp/authorize`);
    expect(Object.fromEntries(u.searchParams)).toEqual({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: redirectUri,
      scope: 'openid profile chutes:invoke',
      state: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      code_challenge_method: 'S256',
    });
    expect(n.params.redirectUri).toBe(redirectUri);
    expect(n.params.listening).toBe(true);
    expect(Date.parse(n.params.expiresAt) - Date.now()).toBeGreaterThan(8_000);

    const page = await browse(n.params.url);
    expect(page.visited[1]).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/oauth-callback\\?code=`));
    expect(page.status).toBe(200);
    expect(page.body).toContain('Signed in to Chutes');
    expect(page.body).toContain('testuser');

    const r = await login;
    expect(r.error).toBeUndefined();
    expect(r.result).toEqual({
      profile: 'chutes:oauth',
      method: 'oauth',
      account: { sub: 'user-123', username: 'testuser' },
      scopes: ['openid', 'profile', 'chutes:invoke'],
      expiresAt: expect.any(String),
    });
    // expires_in 3600 minus the 5 minute margin.
    const lifetime = Date.parse(r.result.expiresAt) - Date.now();
    expect(lifetime).toBeGreaterThan(54 * 60_000);
    expect(lifetime).toBeLessThanOrEqual(55 * 60_000);

    // The exchange: form-encoded, secret in the body, the verifier that matches the challenge.
    const exchange = idp.tokenRequests.find((f) => f.get('grant_type') === 'authorization_code')!;
    expect(exchange.get('client_secret')).toBe(CLIENT_SECRET);
    expect(exchange.get('redirect_uri')).toBe(redirectUri);
    const verifier = exchange.get('code_verifier')!;
    expect(crypto.createHash('sha256').update(verifier).digest('base64url')).toBe(u.searchParams.get('code_challenge'));
    expect(verifier).not.toBe(u.searchParams.get('state'));

    // Stored: tokens, expiry, scopes, account, client id, and the secret (Chutes checks it on every refresh).
    const store = readStore(p.home);
    const prof = store.profiles['chutes:oauth'];
    expect(idp.accessTokens.has(prof.accessToken)).toBe(true);
    expect(idp.refreshTokens.get(prof.refreshToken)).toBe(true);
    expect(prof).toMatchObject({
      method: 'oauth',
      clientId: CLIENT_ID,
      account: { sub: 'user-123', username: 'testuser' },
      expiresAt: r.result.expiresAt,
    });
    expect(prof.clientSecret).toBe(CLIENT_SECRET);
    expect(fs.statSync(path.join(p.home, 'credentials.json')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(p.home).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(p.home).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // One use: the callback server is gone.
    expect(await connectRefused(port)).toBe(true);

    const status = await p.request('auth.status', {});
    expect(status.result).toMatchObject({
      authenticated: true,
      method: 'oauth',
      profile: 'chutes:oauth',
      source: 'store',
      account: { username: 'testuser' },
    });
    expect(JSON.stringify(status.result)).not.toMatch(/cak_|crt_|csc_/);
    const init = await p.request('initialize', {});
    expect(init.result.auth).toEqual({ authenticated: true, method: 'oauth' });
    expect(p.schemaProblems).toEqual([]);
    expectNoSecretIn(p);
  });

  it('stores the client secret given in the params too', async () => {
    const p = spawn({ CHUTES_CLIENT_ID: CLIENT_ID });
    const port = await freePort();
    const login = p.request('auth.login', {
      method: 'oauth',
      clientSecret: CLIENT_SECRET,
      redirectUri: `http://127.0.0.1:${port}/cb`,
      profile: 'work',
    });
    const n = await authorizeNotification(p);
    await browse(n.params.url);
    const r = await login;
    expect(r.result.profile).toBe('work');
    expect(readStore(p.home).profiles.work.clientSecret).toBe(CLIENT_SECRET);
    expectNoSecretIn(p);
  });

  it('finishes by auth.complete with the pasted redirect URL when the redirect URI is not on this machine', async () => {
    const p = spawn();
    const login = p.request('auth.login', { method: 'oauth', redirectUri: 'https://app.example/oauth-callback', timeoutMs: 10_000 });
    const n = await authorizeNotification(p);
    expect(n.params.listening).toBe(false);
    const redirect = await redirectFromIdp(n.params.url);
    expect(redirect).toMatch(/^https:\/\/app\.example\/oauth-callback\?code=/);

    // A bare code is refused and does not use the login up.
    const bare = await p.request('auth.complete', { loginId: n.params.loginId, redirectUrl: new URL(redirect).searchParams.get('code') });
    expect(bare.error?.code).toBe(-32011);
    expect(bare.error?.message).toMatch(/bare code/);
    const codeOnly = await p.request('auth.complete', {
      loginId: n.params.loginId,
      redirectUrl: `?code=${new URL(redirect).searchParams.get('code')}`,
    });
    expect(codeOnly.error?.code).toBe(-32011);
    expect(codeOnly.error?.message).toMatch(/no state/);
    const unknown = await p.request('auth.complete', { loginId: 'nope', redirectUrl: redirect });
    expect(unknown.error?.code).toBe(-32011);

    const done = await p.request('auth.complete', { loginId: n.params.loginId, redirectUrl: redirect });
    expect(done.result).toEqual({ ok: true });
    const r = await login;
    expect(r.result).toMatchObject({ profile: 'chutes:oauth', method: 'oauth', account: { sub: 'user-123' } });
    // The login is over: its id no longer works.
    const again = await p.request('auth.complete', { loginId: n.params.loginId, redirectUrl: redirect });
    expect(again.error?.code).toBe(-32011);
    expect(p.schemaProblems).toEqual([]);
    expectNoSecretIn(p);
  });

  it('accepts the ?code=&state= query alone', async () => {
    const p = spawn();
    const login = p.request('auth.login', { method: 'oauth', listen: false, timeoutMs: 10_000 });
    const n = await authorizeNotification(p);
    expect(n.params.listening).toBe(false);
    const redirect = new URL(await redirectFromIdp(n.params.url));
    expect((await p.request('auth.complete', { loginId: n.params.loginId, redirectUrl: redirect.search })).result).toEqual({ ok: true });
    expect((await login).result.method).toBe('oauth');
  });

  it('fails with -32011 on a forged state, without exchanging the code', async () => {
    const p = spawn();
    const port = await freePort();
    const login = p.request('auth.login', { method: 'oauth', redirectUri: `http://127.0.0.1:${port}/oauth-callback`, timeoutMs: 10_000 });
    await authorizeNotification(p);
    // Another path, or the callback path with no code, state or error, does not count and does not use the login up.
    expect((await get(`http://127.0.0.1:${port}/favicon.ico`)).status).toBe(404);
    expect((await get(`http://127.0.0.1:${port}/oauth-callback`)).status).toBe(400);
    const page = await get(`http://127.0.0.1:${port}/oauth-callback?code=code_forged&state=forged-state`);
    expect(page.status).toBe(400);
    expect(page.body).toContain('state mismatch');
    const r = await login;
    expect(r.error?.code).toBe(-32011);
    expect(r.error?.data.type).toBe('oauth_failed');
    expect(r.error?.message).toMatch(/state mismatch/);
    expect(idp.tokenRequests).toEqual([]);
    expect(fs.existsSync(path.join(p.home, 'credentials.json'))).toBe(false);
    expect(await connectRefused(port)).toBe(true);
    expect(p.schemaProblems).toEqual([]);
  });

  it('fails with -32011 when the user denies access', async () => {
    idp.options.deny = true;
    const p = spawn();
    const port = await freePort();
    const login = p.request('auth.login', { method: 'oauth', redirectUri: `http://localhost:${port}/oauth-callback`, timeoutMs: 10_000 });
    const n = await authorizeNotification(p);
    const page = await browse(n.params.url.replace('localhost', '127.0.0.1'));
    expect(page.status).toBe(400);
    expect(page.body).toContain('denied');
    const r = await login;
    expect(r.error?.code).toBe(-32011);
    expect(r.error?.message).toMatch(/denied.*access_denied/);
    expect(idp.tokenRequests).toEqual([]);
  });

  it('times out with -32011 and stops listening', async () => {
    const p = spawn();
    const port = await freePort();
    const started = Date.now();
    const r = await p.request('auth.login', { method: 'oauth', redirectUri: `http://127.0.0.1:${port}/oauth-callback`, timeoutMs: 1000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(r.error?.code).toBe(-32011);
    expect(r.error?.message).toMatch(/timed out/);
    expect(r.error?.data.resolution).toMatch(/auth\.complete/);
    expect(await connectRefused(port)).toBe(true);
    expect(p.schemaProblems).toEqual([]);
  });

  it('still completes by auth.complete when the callback port is in use', async () => {
    const busy = http.createServer((_q, s) => s.end('someone else'));
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as import('node:net').AddressInfo).port;
    try {
      const p = spawn();
      const redirectUri = `http://127.0.0.1:${port}/oauth-callback`;
      const login = p.request('auth.login', { method: 'oauth', redirectUri, timeoutMs: 10_000 });
      const n = await authorizeNotification(p);
      expect(n.params.listening).toBe(false);
      expect(p.stderr).toMatch(/cannot listen .*EADDRINUSE/);
      const redirect = await redirectFromIdp(n.params.url);
      expect((await p.request('auth.complete', { loginId: n.params.loginId, redirectUrl: redirect })).result).toEqual({ ok: true });
      expect((await login).result).toMatchObject({ method: 'oauth', profile: 'chutes:oauth' });
      expectNoSecretIn(p);
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });

  it('is cancelled by $/cancelRequest, closing the callback server', async () => {
    const p = spawn();
    const port = await freePort();
    const login = p.request('auth.login', { method: 'oauth', redirectUri: `http://127.0.0.1:${port}/oauth-callback` }, 'login-1');
    await authorizeNotification(p);
    expect(await connectRefused(port)).toBe(false);
    p.notify('$/cancelRequest', { id: 'login-1' });
    const r = await login;
    expect(r.error?.code).toBe(-32800);
    expect(await connectRefused(port)).toBe(true);
  });

  it('asks for an app registration when no client id is configured', async () => {
    const p = spawn({});
    const r = await p.request('auth.login', { method: 'oauth' });
    expect(r.error?.code).toBe(-32011);
    expect(r.error?.message).toMatch(/CHUTES_CLIENT_ID/);
    expect(r.error?.data.resolution).toMatch(/register/);
    expect(p.notifications.filter((m) => m.method === 'auth.authorizeUrl')).toEqual([]);
  });

  it('fails with -32011 when the token exchange is refused (wrong client secret), storing nothing', async () => {
    const p = spawn({ CHUTES_CLIENT_ID: CLIENT_ID, CHUTES_CLIENT_SECRET: 'csc_test_wrong_secret' });
    const port = await freePort();
    const login = p.request('auth.login', { method: 'oauth', redirectUri: `http://127.0.0.1:${port}/cb`, timeoutMs: 10_000 });
    const n = await authorizeNotification(p);
    const page = await browse(n.params.url);
    expect(page.status).toBe(400);
    const r = await login;
    expect(r.error?.code).toBe(-32011);
    expect(r.error?.message).toMatch(/token exchange failed: HTTP 401: invalid_client/);
    expect(fs.existsSync(path.join(p.home, 'credentials.json'))).toBe(false);
    expect(`${p.stderr}${JSON.stringify(p.messages)}`).not.toContain('csc_test_wrong_secret');
  });

  it('does not fail the login when userinfo fails', async () => {
    idp.options.userinfoFails = true;
    const p = spawn();
    const port = await freePort();
    const login = p.request('auth.login', { method: 'oauth', redirectUri: `http://127.0.0.1:${port}/cb`, timeoutMs: 10_000 });
    await browse((await authorizeNotification(p)).params.url);
    const r = await login;
    expect(r.error).toBeUndefined();
    expect(r.result.account).toBeUndefined();
    expect(p.stderr).toMatch(/userinfo: HTTP 500/);
    expect(readStore(p.home).profiles['chutes:oauth'].account).toBeUndefined();
    expect(p.schemaProblems).toEqual([]);
  });

  it('refuses a token answer whose expires_in is not a finite number', async () => {
    idp.options.expiresIn = 'soon';
    const p = spawn();
    const port = await freePort();
    const login = p.request('auth.login', { method: 'oauth', redirectUri: `http://127.0.0.1:${port}/cb`, timeoutMs: 10_000 });
    await browse((await authorizeNotification(p)).params.url);
    const r = await login;
    expect(r.error?.code).toBe(-32011);
    expect(r.error?.message).toMatch(/expires_in/);
    expect(fs.existsSync(path.join(p.home, 'credentials.json'))).toBe(false);
  });
});
