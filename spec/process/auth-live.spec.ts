import {
  browse,
  CLIENT_ID,
  CLIENT_SECRET,
  type FakeIdp,
  freePort,
  loopbackConfig,
  oauthProfile,
  readStore,
  startApi,
  startIdp,
  writeStore,
} from '../helpers/idp';
import { type Loopback, writeConfig } from '../helpers/loopback';
import { RpcProcess, tempHome } from '../helpers/rpc-process';

let idp: FakeIdp;
let api: Loopback;
const procs: RpcProcess[] = [];

/** A well-formed (fake) Chutes API key: cpk_<32 hex>.<32 hex>.<32 alnum>. */
const GOOD_KEY = `cpk_${'0a'.repeat(16)}.${'1b'.repeat(16)}.${'Cd3'.repeat(10)}xy`;

beforeEach(async () => {
  idp = await startIdp();
  api = await startApi((token) => token === GOOD_KEY || token === 'cpk_short');
});

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
  await idp.close();
  await api.close();
});

function spawn(env: Record<string, string | undefined>, home = tempHome(), extra: object = {}): RpcProcess {
  writeConfig(home, { ...loopbackConfig(api.url, idp.url), ...extra });
  const p = new RpcProcess({ home, env });
  procs.push(p);
  return p;
}

describe('auth against the live IdP rules', () => {
  it('accepts CHUTES_OAUTH_CLIENT_ID/_SECRET, stores the secret, and a later process without it can refresh', async () => {
    const p = spawn({ CHUTES_OAUTH_CLIENT_ID: CLIENT_ID, CHUTES_OAUTH_CLIENT_SECRET: CLIENT_SECRET });
    const port = await freePort();
    const login = p.request('auth.login', { method: 'oauth', redirectUri: `http://127.0.0.1:${port}/cb`, timeoutMs: 10_000 });
    const n = await p.next((m) => m.method === 'auth.authorizeUrl');
    expect(new URL(n.params.url).searchParams.get('client_id')).toBe(CLIENT_ID);
    await browse(n.params.url);
    expect((await login).result).toMatchObject({ method: 'oauth', profile: 'chutes:oauth' });
    await p.stop();
    expect(readStore(p.home).profiles['chutes:oauth'].clientSecret).toBe(CLIENT_SECRET);

    // The access token expires; a new process has no client secret in its environment.
    const store = readStore(p.home);
    store.profiles['chutes:oauth'].expiresAt = new Date(Date.now() - 1000).toISOString();
    writeStore(p.home, store.profiles);
    const later = spawn({}, p.home);
    const status = await later.request('auth.status', {});
    expect(status.result).toMatchObject({ authenticated: true, method: 'oauth' });
    expect(idp.refreshCalls).toBe(1);
    expect(idp.tokenRequests.at(-1)!.get('client_secret')).toBe(CLIENT_SECRET);
    expect(later.stderr).not.toContain(CLIENT_SECRET);
  });

  it('auth.status {verify: true} asks the IdP (userinfo, else introspect), since GET /models cannot tell for an OAuth token', async () => {
    const good = idp.issue();
    const home = tempHome();
    writeStore(home, {
      'chutes:oauth': oauthProfile(good, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() }),
      dead: oauthProfile({ accessToken: 'cak_test_revoked' }, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() }),
    });
    const p = spawn({}, home);
    expect((await p.request('auth.status', { verify: true })).result).toMatchObject({ authenticated: true, verified: true });
    const dead = (await p.request('auth.status', { profile: 'dead', verify: true })).result;
    expect(dead).toMatchObject({
      authenticated: false,
      verified: false,
      problem: expect.stringMatching(/userinfo: HTTP 401.*Sign in again/),
    });
    // Without verify, the IdP is not asked.
    expect((await p.request('auth.status', { profile: 'dead' })).result).toMatchObject({ authenticated: true });
    expect((await p.request('auth.status', { profile: 'dead' })).result.verified).toBeUndefined();

    // A token without a scope userinfo accepts (403): introspection tells.
    idp.options.userinfoForbidden = true;
    expect((await p.request('auth.status', { verify: true })).result).toMatchObject({ verified: true });
    idp.accessTokens.delete(good.accessToken);
    idp.options.userinfoForbidden = false;
    expect((await p.request('auth.status', { verify: true })).result).toMatchObject({ authenticated: false, verified: false });
    expect(p.stderr).not.toContain(good.accessToken);
  });

  it('says which scopes to ask for when the IdP answers error=invalid_scope', async () => {
    idp.options.invalidScope = true;
    const p = spawn({ CHUTES_CLIENT_ID: CLIENT_ID, CHUTES_CLIENT_SECRET: CLIENT_SECRET });
    const port = await freePort();
    const login = p.request('auth.login', { method: 'oauth', redirectUri: `http://127.0.0.1:${port}/cb`, scopes: 'admin' });
    await browse((await p.next((m) => m.method === 'auth.authorizeUrl')).params.url);
    const r = await login;
    expect(r.error?.code).toBe(-32011);
    expect(r.error?.data).toMatchObject({
      message: expect.stringMatching(/invalid_scope: Unknown or unauthorized scope/),
      resolution: expect.stringMatching(/openid profile chutes:invoke/),
    });
  });

  it('logout revokes both the refresh and the access token', async () => {
    const tokens = idp.issue();
    const home = tempHome();
    writeStore(home, { 'chutes:oauth': oauthProfile(tokens, { clientSecret: CLIENT_SECRET }) });
    const p = spawn({}, home);
    expect((await p.request('auth.logout', {})).result).toEqual({ loggedOut: true, profile: 'chutes:oauth', revoked: true, removed: true });
    expect(idp.revoked).toEqual(
      expect.arrayContaining([
        { token: tokens.refreshToken, hint: 'refresh_token' },
        { token: tokens.accessToken, hint: 'access_token' },
      ]),
    );
    expect(idp.accessTokens.has(tokens.accessToken)).toBe(false);
  });

  it('warns, without quoting it, about an API key that does not look like one: in config.validate and at login', async () => {
    const p = spawn({}, tempHome(), { env: { CHUTES_API_KEY: 'cpk_short' } });
    const v = await p.request('config.validate', {});
    expect(v.result).toMatchObject({
      valid: true,
      warnings: [{ path: '/env/CHUTES_API_KEY', message: expect.stringMatching(/not look like a whole/) }],
    });
    expect(JSON.stringify(v.result)).not.toContain('cpk_short');
    const good = await p.request('config.validate', { config: { models: { providers: { chutes: { apiKey: GOOD_KEY } } } } });
    expect(good.result).toEqual({ valid: true, errors: [] });
    const cak = await p.request('config.validate', { config: { models: { providers: { chutes: { apiKey: 'cak_abc' } } } } });
    expect(cak.result.warnings[0]).toMatchObject({
      path: '/models/providers/chutes/apiKey',
      message: expect.stringMatching(/OAuth access token/),
    });

    const login = await p.request('auth.login', { method: 'apiKey', apiKey: 'cpk_short', profile: 'odd' });
    expect(login.result).toMatchObject({ verified: true });
    expect(p.stderr).toMatch(/the API key given to auth.login does not look like a whole Chutes API key/);
    expect(p.stderr).not.toContain('cpk_short');
  });
});
