import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  API_KEY,
  CLIENT_SECRET,
  type FakeIdp,
  loopbackConfig,
  oauthProfile,
  readStore,
  startApi,
  startIdp,
  writeStore,
} from '../helpers/idp';
import { type Loopback, startLoopback, writeConfig } from '../helpers/loopback';
import { RpcProcess, tempHome } from '../helpers/rpc-process';

let idp: FakeIdp;
let api: Loopback;
const procs: RpcProcess[] = [];

beforeEach(async () => {
  idp = await startIdp();
  api = await startApi((t) => t === API_KEY || idp.accessTokens.has(t));
});

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.stop()));
  await idp.close();
  await api.close();
});

function spawn(env: Record<string, string> = {}, home = tempHome(), apiUrl = api.url): RpcProcess {
  writeConfig(home, loopbackConfig(apiUrl, idp.url));
  const p = new RpcProcess({ home, env });
  procs.push(p);
  return p;
}

function expectNoKeyIn(p: RpcProcess): void {
  expect(p.stdout.toString('utf8') + p.stderr).not.toContain(API_KEY);
  expect(p.stdout.toString('utf8') + p.stderr).not.toContain('cpk_test_wrong');
}

describe('auth.login {method: "apiKey"}', () => {
  it('verifies the key with GET {baseUrl}/models and stores it under chutes:default', async () => {
    const p = spawn();
    const r = await p.request('auth.login', { method: 'apiKey', apiKey: API_KEY });
    expect(r.result).toEqual({ profile: 'chutes:default', method: 'apiKey', verified: true });
    const verify = api.requests.at(-1)!;
    expect(verify.method).toBe('GET');
    expect(verify.url).toBe('/v1/models');
    expect(verify.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(readStore(p.home).profiles['chutes:default']).toMatchObject({ method: 'apiKey', apiKey: API_KEY, verified: true });
    expect(fs.statSync(path.join(p.home, 'credentials.json')).mode & 0o777).toBe(0o600);
    const status = await p.request('auth.status', {});
    expect(status.result).toEqual({
      authenticated: true,
      method: 'apiKey',
      profile: 'chutes:default',
      source: 'store',
      profiles: ['chutes:default'],
    });
    expect(p.schemaProblems).toEqual([]);
    expectNoKeyIn(p);
  });

  it('answers -32001 for a key the API rejects, storing nothing', async () => {
    const p = spawn();
    const r = await p.request('auth.login', { method: 'apiKey', apiKey: 'cpk_test_wrong_key' });
    expect(r.error?.code).toBe(-32001);
    expect(r.error?.data).toMatchObject({ type: 'unauthorized', httpStatus: 401 });
    expect(r.error?.message).toMatch(/rejected the API key.*nothing was stored/);
    expect(JSON.stringify(r.error)).not.toContain('cpk_test_wrong_key');
    expect(fs.existsSync(path.join(p.home, 'credentials.json'))).toBe(false);
    expectNoKeyIn(p);
  });

  it('answers -32060 when the API cannot be reached, storing nothing', async () => {
    const dead = await startLoopback((_q, s) => s.destroy());
    const deadUrl = dead.url;
    await dead.close();
    const p = spawn({}, tempHome(), deadUrl);
    const r = await p.request('auth.login', { method: 'apiKey', apiKey: API_KEY });
    expect(r.error?.code).toBe(-32060);
    expect(r.error?.data.type).toBe('network_error');
    expect(fs.existsSync(path.join(p.home, 'credentials.json'))).toBe(false);
    expectNoKeyIn(p);
  });

  it('takes CHUTES_API_KEY when no key is given, and stores unverified with verify: false', async () => {
    const p = spawn({ CHUTES_API_KEY: API_KEY });
    const r = await p.request('auth.login', { method: 'apiKey', profile: 'ci', verify: false });
    expect(r.result).toEqual({ profile: 'ci', method: 'apiKey', verified: false });
    expect(api.requests).toEqual([]);
    expect(readStore(p.home).profiles.ci.apiKey).toBe(API_KEY);
  });

  it('answers -32010 when there is no key at all', async () => {
    const p = spawn();
    const r = await p.request('auth.login', { method: 'apiKey' });
    expect(r.error?.code).toBe(-32010);
    expect(r.error?.message).toMatch(/CHUTES_API_KEY/);
  });
});

describe('which credential a call uses', () => {
  it('explicit profile > key from config or env > stored API key > stored OAuth', async () => {
    const home = tempHome();
    const tokens = idp.issue();
    const fresh = { expiresAt: new Date(Date.now() + 3_600_000).toISOString() };
    writeStore(home, {
      'chutes:oauth': oauthProfile(tokens, fresh),
      'chutes:default': { method: 'apiKey', apiKey: API_KEY, updatedAt: new Date().toISOString() },
    });
    const withEnv = spawn({ CHUTES_API_KEY: 'cpk_test_env_key' }, home);
    expect((await withEnv.request('auth.status', {})).result).toMatchObject({
      authenticated: true,
      method: 'apiKey',
      profile: null,
      source: 'env',
    });
    expect((await withEnv.request('auth.status', { profile: 'chutes:oauth' })).result).toMatchObject({
      method: 'oauth',
      profile: 'chutes:oauth',
      source: 'profile',
      account: { sub: 'user-123', username: 'testuser' },
    });
    const unknown = (await withEnv.request('auth.status', { profile: 'nope' })).result;
    expect(unknown).toMatchObject({
      authenticated: false,
      method: null,
      profile: 'nope',
      problem: expect.stringMatching(/No stored profile "nope"/),
    });

    const stored = spawn({}, home);
    expect((await stored.request('auth.status', {})).result).toMatchObject({
      method: 'apiKey',
      profile: 'chutes:default',
      source: 'store',
    });
    expect((await stored.request('auth.logout', { profile: 'chutes:default' })).result).toEqual({
      loggedOut: true,
      profile: 'chutes:default',
      removed: true,
    });
    expect((await stored.request('auth.status', {})).result).toMatchObject({ method: 'oauth', profile: 'chutes:oauth', source: 'store' });
    expect(withEnv.schemaProblems).toEqual([]);
    expect(stored.schemaProblems).toEqual([]);

    // A key in the config beats everything stored.
    const configured = tempHome();
    writeStore(configured, { 'chutes:default': { method: 'apiKey', apiKey: API_KEY, updatedAt: new Date().toISOString() } });
    writeConfig(configured, {
      models: { providers: { chutes: { baseUrl: `${api.url}/v1`, idpBaseUrl: idp.url, apiKey: 'cpk_test_config_key' } } },
    });
    const p = new RpcProcess({ home: configured });
    procs.push(p);
    expect((await p.request('auth.status', {})).result).toMatchObject({ method: 'apiKey', source: 'config', profile: null });
  });

  it('reports no credential when nothing is configured', async () => {
    const p = spawn();
    expect((await p.request('auth.status', {})).result).toEqual({ authenticated: false, method: null, profile: null, profiles: [] });
    expect((await p.request('initialize', {})).result.auth).toEqual({ authenticated: false, method: null });
    expect((await p.request('auth.logout', {})).result).toEqual({ loggedOut: true, removed: false });
  });
});

describe('auth.logout', () => {
  it('revokes both OAuth tokens, deletes the profile and keeps the others', async () => {
    const home = tempHome();
    const tokens = idp.issue();
    writeStore(home, {
      'chutes:oauth': oauthProfile(tokens, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() }),
      other: { method: 'apiKey', apiKey: API_KEY, updatedAt: new Date().toISOString() },
    });
    const p = spawn({ CHUTES_CLIENT_SECRET: CLIENT_SECRET }, home);
    const r = await p.request('auth.logout', { profile: 'chutes:oauth' });
    expect(r.result).toEqual({ loggedOut: true, profile: 'chutes:oauth', revoked: true, removed: true });
    expect(idp.revoked).toEqual(
      expect.arrayContaining([
        { token: tokens.refreshToken, hint: 'refresh_token' },
        { token: tokens.accessToken, hint: 'access_token' },
      ]),
    );
    expect(idp.revoked).toHaveLength(2);
    expect(Object.keys(readStore(home).profiles)).toEqual(['other']);
    expect(fs.statSync(path.join(home, 'credentials.json')).mode & 0o777).toBe(0o600);
    expect(p.schemaProblems).toEqual([]);
    expect(p.stdout.toString() + p.stderr).not.toMatch(/cak_test|crt_test|csc_test/);
  });

  it('removes the profile even when revoking fails (best effort)', async () => {
    idp.options.revokeFails = true;
    const home = tempHome();
    writeStore(home, { 'chutes:oauth': oauthProfile(idp.issue()) });
    const p = spawn({}, home);
    const r = await p.request('auth.logout', {});
    expect(r.result).toEqual({ loggedOut: true, profile: 'chutes:oauth', revoked: false, removed: true });
    expect(readStore(home).profiles).toEqual({});
    expect(p.stderr).toMatch(/revoking the refresh token: HTTP 500/);
    expect(p.stderr).not.toMatch(/cak_test|crt_test/);
  });
});
