import { ChutesContext } from '../../lib/chutes/context';
import type { Credential } from '../../lib/chutes/credentials';
import { resolveConfigValue } from '../../lib/config/load';
import { ChutesError } from '../../lib/chutes/errors';
import { Logger } from '../../lib/log/logger';
import {
  CLIENT_ID,
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

beforeEach(async () => {
  idp = await startIdp();
  api = await startApi((t) => idp.accessTokens.has(t));
});

afterEach(async () => {
  await idp.close();
  await api.close();
});

/** An ChutesContext in this process, as the server would make it, with its log lines collected. */
function makeApp(
  home: string,
  env: Record<string, string> = { CHUTES_CLIENT_SECRET: CLIENT_SECRET },
): { app: ChutesContext; lines: string[] } {
  const lines: string[] = [];
  const logger = new Logger((l) => lines.push(l));
  logger.setLevel('debug');
  const state = resolveConfigValue(loopbackConfig(api.url, idp.url), env);
  expect(state.problems).toEqual([]);
  return { app: new ChutesContext({ home }, state, logger), lines };
}

describe('refreshing a Sign in with Chutes token', () => {
  it('refreshes an expired access token before a call, keeping the rotated refresh token', async () => {
    const home = tempHome();
    const old = idp.issue();
    writeStore(home, { 'chutes:oauth': oauthProfile(old) });
    const { app, lines } = makeApp(home);
    try {
      const cred = await app.credentials.resolve();
      expect(idp.refreshCalls).toBe(1);
      expect(cred?.method).toBe('oauth');
      expect(cred?.token).not.toBe(old.accessToken);
      expect(idp.accessTokens.has(cred!.token)).toBe(true);
      const stored = readStore(home).profiles['chutes:oauth'];
      expect(stored.accessToken).toBe(cred!.token);
      expect(stored.refreshToken).not.toBe(old.refreshToken);
      expect(idp.refreshTokens.get(stored.refreshToken)).toBe(true);
      expect(idp.refreshTokens.get(old.refreshToken)).toBe(false);
      expect(Date.parse(stored.expiresAt) - Date.now()).toBeGreaterThan(54 * 60_000);
      // The secret came from the env at refresh time, in the form body.
      const req = idp.tokenRequests.find((f) => f.get('grant_type') === 'refresh_token')!;
      expect(req.get('client_secret')).toBe(CLIENT_SECRET);
      expect(req.get('client_id')).toBe(CLIENT_ID);
      // Not expired any more: no second refresh.
      expect((await app.credentials.resolve())?.token).toBe(cred!.token);
      expect(idp.refreshCalls).toBe(1);
      expect(lines.join('')).not.toMatch(/cak_test|crt_test|csc_test/);
    } finally {
      await app.close();
    }
  });

  it('keeps the old refresh token when the answer has none', async () => {
    idp.options.omitRefreshToken = true;
    const home = tempHome();
    const old = idp.issue();
    writeStore(home, { 'chutes:oauth': oauthProfile(old) });
    const { app } = makeApp(home);
    try {
      await app.credentials.resolve();
      expect(readStore(home).profiles['chutes:oauth'].refreshToken).toBe(old.refreshToken);
    } finally {
      await app.close();
    }
  });

  it('refreshes once after a 401 and the call succeeds with the new token', async () => {
    const home = tempHome();
    const old = idp.issue();
    // Not expired by the clock, but the API no longer takes it (revoked server-side, clock skew...).
    writeStore(home, { 'chutes:oauth': oauthProfile(old, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() }) });
    idp.accessTokens.delete(old.accessToken);
    const { app } = makeApp(home);
    const { request } = require('undici') as typeof import('undici');
    const callApi = async (c: Credential) =>
      (await request(`${api.url}/v1/models`, { headers: { authorization: `Bearer ${c.token}` }, dispatcher: app.http })).statusCode;
    try {
      const resolver = app.credentials;
      let cred = (await resolver.resolve())!;
      expect(idp.refreshCalls).toBe(0);
      expect(await callApi(cred)).toBe(401);
      cred = (await resolver.afterUnauthorized(cred))!;
      expect(cred).toMatchObject({ method: 'oauth', profile: 'chutes:oauth', source: 'store' });
      expect(idp.refreshCalls).toBe(1);
      expect(await callApi(cred)).toBe(200);
      // An API key has nothing better to offer.
      expect(await resolver.afterUnauthorized({ method: 'apiKey', token: 'cpk_test_fake_key', source: 'env' })).toBeUndefined();
    } finally {
      await app.close();
    }
  });

  it('after a 401, uses a token another process already refreshed instead of refreshing again', async () => {
    const home = tempHome();
    const stale = idp.issue();
    const fresh = idp.issue();
    writeStore(home, { 'chutes:oauth': oauthProfile(fresh, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() }) });
    const { app } = makeApp(home);
    try {
      const next = await app.credentials.afterUnauthorized({
        method: 'oauth',
        token: stale.accessToken,
        source: 'store',
        profile: 'chutes:oauth',
      });
      expect(next?.token).toBe(fresh.accessToken);
      expect(idp.refreshCalls).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('answers -32001 telling the user to log in again when the refresh token is refused (invalid_grant)', async () => {
    const home = tempHome();
    const old = idp.issue();
    idp.refreshTokens.set(old.refreshToken, false);
    writeStore(home, { 'chutes:oauth': oauthProfile(old) });
    const { app, lines } = makeApp(home);
    try {
      const err = await app.credentials.resolve().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ChutesError);
      expect((err as ChutesError).type).toBe('unauthorized');
      expect((err as ChutesError).message).toMatch(/log in again/);
      expect((err as ChutesError).data.resolution).toMatch(/chutes-rpc login/);
      expect(JSON.stringify((err as ChutesError).data) + (err as Error).message + lines.join('')).not.toMatch(/crt_test|cak_test|csc_test/);
      // Nothing was written over the stored profile.
      expect(readStore(home).profiles['chutes:oauth'].refreshToken).toBe(old.refreshToken);
    } finally {
      await app.close();
    }
  });

  it('reports a refused refresh in auth.status instead of failing, without any secret', async () => {
    const home = tempHome();
    const old = idp.issue();
    idp.refreshTokens.set(old.refreshToken, false);
    writeStore(home, { 'chutes:oauth': oauthProfile(old) });
    writeConfig(home, loopbackConfig(api.url, idp.url));
    const p = new RpcProcess({ home, env: { CHUTES_CLIENT_SECRET: CLIENT_SECRET } });
    try {
      const r = await p.request('auth.status', {});
      expect(r.result).toMatchObject({
        authenticated: false,
        method: 'oauth',
        profile: 'chutes:oauth',
        problem: expect.stringMatching(/log in again/),
      });
      // initialize only reports: it neither refreshes nor fails.
      const init = await p.request('initialize', {});
      expect(init.result.auth).toEqual({ authenticated: true, method: 'oauth' });
      expect(idp.refreshCalls).toBe(1);
      expect(p.schemaProblems).toEqual([]);
      expect(p.stdout.toString() + p.stderr).not.toMatch(/crt_test|cak_test|csc_test/);
    } finally {
      await p.stop();
    }
  });

  it('two processes refreshing at once: exactly one refresh reaches the IdP and both calls succeed', async () => {
    idp.options.refreshDelayMs = 400;
    const home = tempHome();
    const old = idp.issue();
    writeStore(home, { 'chutes:oauth': oauthProfile(old) });
    writeConfig(home, loopbackConfig(api.url, idp.url));
    const env = { CHUTES_CLIENT_SECRET: CLIENT_SECRET };
    const a = new RpcProcess({ home, env });
    const b = new RpcProcess({ home, env });
    try {
      // Both started and answering before the race begins.
      await Promise.all([a.request('initialize', {}), b.request('initialize', {})]);
      const [ra, rb] = await Promise.all([a.request('auth.status', {}), b.request('auth.status', {})]);
      expect(ra.result).toMatchObject({ authenticated: true, method: 'oauth' });
      expect(rb.result).toMatchObject({ authenticated: true, method: 'oauth' });
      expect(ra.result.problem).toBeUndefined();
      expect(rb.result.problem).toBeUndefined();
      expect(idp.refreshCalls).toBe(1);
      // Both see the same new token's expiry, and the store holds the one live refresh token.
      expect(ra.result.expiresAt).toBe(rb.result.expiresAt);
      const stored = readStore(home).profiles['chutes:oauth'];
      expect(idp.refreshTokens.get(stored.refreshToken)).toBe(true);
      expect(idp.accessTokens.has(stored.accessToken)).toBe(true);
      expect(a.schemaProblems).toEqual([]);
      expect(b.schemaProblems).toEqual([]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it('shares one refresh between concurrent calls in one process', async () => {
    idp.options.refreshDelayMs = 200;
    const home = tempHome();
    writeStore(home, { 'chutes:oauth': oauthProfile(idp.issue()) });
    const { app } = makeApp(home);
    try {
      const creds = await Promise.all([1, 2, 3, 4].map(() => app.credentials.resolve()));
      expect(new Set(creds.map((c) => c?.token)).size).toBe(1);
      expect(idp.refreshCalls).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('a cancelled call stops waiting but the refresh still completes and is stored', async () => {
    idp.options.refreshDelayMs = 300;
    const home = tempHome();
    const old = idp.issue();
    writeStore(home, { 'chutes:oauth': oauthProfile(old) });
    const { app } = makeApp(home);
    try {
      const controller = new AbortController();
      const call = app.credentials.resolve({ signal: controller.signal });
      setTimeout(() => controller.abort(new Error('cancelled by the host')), 50);
      await expect(call).rejects.toThrow(/cancelled/);
      await new Promise((r) => setTimeout(r, 500));
      const stored = readStore(home).profiles['chutes:oauth'];
      expect(stored.refreshToken).not.toBe(old.refreshToken);
      expect(idp.refreshTokens.get(stored.refreshToken)).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('answers -32001 without calling the IdP when an expired sign-in has no refresh token', async () => {
    const home = tempHome();
    writeStore(home, { 'chutes:oauth': oauthProfile({ accessToken: idp.issue().accessToken }) });
    const { app } = makeApp(home);
    try {
      await expect(app.credentials.resolve()).rejects.toMatchObject({ type: 'unauthorized' });
      expect(idp.refreshCalls).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('reports a network failure during a refresh as network_error', async () => {
    const home = tempHome();
    writeStore(home, { 'chutes:oauth': oauthProfile(idp.issue()) });
    const dead = await startLoopback((_q, s) => s.destroy());
    const lines: string[] = [];
    const state = resolveConfigValue(loopbackConfig(api.url, dead.url), { CHUTES_CLIENT_SECRET: CLIENT_SECRET });
    const app = new ChutesContext({ home }, state, new Logger((l) => lines.push(l)));
    try {
      await expect(app.credentials.resolve()).rejects.toMatchObject({ type: 'network_error' });
    } finally {
      await app.close();
      await dead.close();
    }
  });

  describe('end to end through chat.stream', () => {
    let upstream: Loopback;
    const chats: Array<{ token: string }> = [];

    beforeEach(async () => {
      chats.length = 0;
      upstream = await startLoopback((req, res) => {
        const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ object: 'list', data: [] }));
        }
        chats.push({ token });
        if (!idp.accessTokens.has(token)) {
          res.writeHead(401, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ detail: 'Invalid token or user not found' }));
        }
        const chunk = (delta: object, finish: string | null = null) =>
          `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'Qwen/Qwen3-32B-TEE', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(chunk({ role: 'assistant', content: 'hello' }) + chunk({}, 'stop') + 'data: [DONE]\n\n');
      });
    });

    afterEach(() => upstream.close());

    async function chatOnce(home: string): Promise<{ reply: any; p: RpcProcess }> {
      writeConfig(home, loopbackConfig(upstream.url, idp.url));
      const p = new RpcProcess({ home, env: { CHUTES_CLIENT_SECRET: CLIENT_SECRET } });
      try {
        const reply = await p.request('chat.stream', { model: 'Qwen/Qwen3-32B-TEE', messages: [{ role: 'user', content: 'hi' }] });
        return { reply, p };
      } finally {
        await p.stop();
      }
    }

    it('refreshes an expired token before the call', async () => {
      const home = tempHome();
      writeStore(home, { 'chutes:oauth': oauthProfile(idp.issue()) });
      const { reply, p } = await chatOnce(home);
      expect(reply.error).toBeUndefined();
      expect(reply.result.message.content).toBe('hello');
      expect(idp.refreshCalls).toBe(1);
      expect(chats).toHaveLength(1);
      expect(chats[0]!.token).toBe(readStore(home).profiles['chutes:oauth'].accessToken);
      expect(p.stdout.toString() + p.stderr).not.toMatch(/cak_test|crt_test|csc_test/);
    });

    it('refreshes once after a 401 and retries the call', async () => {
      const home = tempHome();
      const old = idp.issue();
      writeStore(home, { 'chutes:oauth': oauthProfile(old, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() }) });
      idp.accessTokens.delete(old.accessToken);
      const { reply, p } = await chatOnce(home);
      expect(reply.error).toBeUndefined();
      expect(reply.result.message.content).toBe('hello');
      expect(idp.refreshCalls).toBe(1);
      expect(chats.map((c) => c.token === old.accessToken)).toEqual([true, false]);
      expect(readStore(home).profiles['chutes:oauth'].accessToken).toBe(chats[1]!.token);
      expect(p.schemaProblems).toEqual([]);
      expect(p.stdout.toString() + p.stderr).not.toMatch(/cak_test|crt_test|csc_test/);
    });
  });
});
