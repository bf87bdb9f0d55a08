import type * as http from 'node:http';
import { ChutesContext } from '../../../lib/chutes/context';
import type { Credential, CredentialResolver } from '../../../lib/chutes/credentials';
import { curatedCatalog } from '../../../lib/chutes/models/catalog';
import { defaultConfig, type ResolvedConfig } from '../../../lib/config/load';
import { Logger } from '../../../lib/log/logger';
import { type Loopback, startLoopback } from '../../helpers/loopback';
import { liveBody } from '../../helpers/models-fixtures';
import { tempHome } from '../../helpers/rpc-process';

const demo = liveBody('models-demo.json');

/** An in-process ChutesContext pointed at `lb`, whose credential the test sets through `cred.current`. */
function makeApp(lb: Loopback | undefined, config: Partial<ResolvedConfig> = {}) {
  const lines: string[] = [];
  const log = new Logger((line) => lines.push(line));
  log.setLevel('debug');
  const base = defaultConfig({});
  const cred: { current: Credential | undefined; fail?: Error | undefined } = { current: undefined };
  const credentials = {
    resolve: async () => {
      if (cred.fail) throw cred.fail;
      return cred.current;
    },
    afterUnauthorized: async () => undefined,
  } as unknown as CredentialResolver;
  const app = new ChutesContext(
    { home: tempHome() },
    { config: { ...base, baseUrl: lb ? `${lb.url}/v1` : 'http://127.0.0.1:9/v1', ...config }, problems: [] },
    log,
    { credentials },
  );
  return { app, cred, lines };
}

let servers: Loopback[] = [];
let apps: ChutesContext[] = [];
async function upstream(handler: (req: http.IncomingMessage & { body: string }, res: http.ServerResponse) => void): Promise<Loopback> {
  const lb = await startLoopback(handler);
  servers.push(lb);
  return lb;
}
function track<T extends { app: ChutesContext }>(made: T): T {
  apps.push(made.app);
  return made;
}
afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await Promise.all(servers.map((s) => s.close()));
  apps = [];
  servers = [];
});

const serveDemo = (_req: unknown, res: http.ServerResponse) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(demo));
};

const key = (token: string): Credential => ({ method: 'apiKey', token, source: 'env' });

describe('ModelSource', () => {
  it('caches per credential', async () => {
    const lb = await upstream(serveDemo);
    const { app, cred } = track(makeApp(lb));
    const models = app.models;
    expect((await models.discover()).source).toBe('live');
    expect((await models.discover()).source).toBe('cache');
    cred.current = key('cpk_test_fake_key_a');
    expect((await models.discover()).source).toBe('live');
    cred.current = key('cpk_test_fake_key_b');
    expect((await models.discover()).source).toBe('live');
    cred.current = key('cpk_test_fake_key_a');
    expect((await models.discover()).source).toBe('cache');
    cred.current = undefined;
    expect((await models.discover()).source).toBe('cache');
    expect(lb.requests.map((r) => r.headers.authorization)).toEqual([
      undefined,
      'Bearer cpk_test_fake_key_a',
      'Bearer cpk_test_fake_key_b',
    ]);
  });

  it('lets concurrent callers share one fetch', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const lb = await upstream((req, res) => void gate.then(() => serveDemo(req, res)));
    const { app } = track(makeApp(lb));
    const calls = [app.models.discover(), app.models.discover({ teeOnly: true }), app.models.lookup('zai-org/GLM-4.7-Flash')];
    while (lb.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    release();
    const [a, b, c] = await Promise.all(calls);
    expect(lb.requests).toHaveLength(1);
    expect((a as { source: string }).source).toBe('live');
    expect((b as { models: Array<{ tee: boolean }> }).models.every((m) => m.tee)).toBe(true);
    expect(c).toMatchObject({ upstreamId: 'zai-org/GLM-4.7-Flash', origin: 'live+catalog' });
  });

  it('keeps a shared fetch going while one caller remains, and aborts it when the last one gives up', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const closed: string[] = [];
    const lb = await upstream((req, res) => {
      req.socket.once('close', () => closed.push(req.url ?? ''));
      void gate.then(() => serveDemo(req, res));
    });
    const { app } = track(makeApp(lb));
    const one = new AbortController();
    const two = new AbortController();
    const first = app.models.discover({ signal: one.signal });
    const second = app.models.discover({ signal: two.signal });
    while (lb.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    one.abort(new Error('first caller gone'));
    await expect(first).rejects.toThrow('first caller gone');
    release();
    expect((await second).source).toBe('live');
    expect(lb.requests).toHaveLength(1);

    // A second round: both callers give up, so the upstream request is aborted.
    const lb2 = await upstream((req) => void req.socket.once('close', () => closed.push('second')));
    const { app: app2 } = track(makeApp(lb2));
    const c1 = new AbortController();
    const c2 = new AbortController();
    const p1 = app2.models.discover({ signal: c1.signal });
    const p2 = app2.models.discover({ signal: c2.signal });
    while (lb2.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    c1.abort(new Error('c1 gone'));
    await expect(p1).rejects.toThrow('c1 gone');
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).not.toContain('second');
    c2.abort(new Error('c2 gone'));
    await expect(p2).rejects.toThrow('c2 gone');
    for (let i = 0; i < 100 && !closed.includes('second'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(closed).toContain('second');
    // A new caller after the abort gets a fresh fetch, not the aborted one.
    const c3 = new AbortController();
    const p3 = app2.models.discover({ signal: c3.signal });
    const p3Settled = p3.then(
      () => 'resolved',
      (e: Error) => e.message,
    );
    while (lb2.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
    expect(lb2.requests).toHaveLength(2);
    c3.abort(new Error('c3 gone'));
    expect(await p3Settled).toBe('c3 gone');
  });

  describe('lookup', () => {
    it('fetches the live list once when nothing is cached, then answers from the cache', async () => {
      const lb = await upstream(serveDemo);
      const { app } = track(makeApp(lb));
      const m = await app.models.lookup('Qwen/Qwen3-32B-TEE');
      expect(m).toMatchObject({ id: 'chutes/Qwen/Qwen3-32B-TEE', tee: true, pricing: { input: 0.104, output: 0.416 } });
      expect(await app.models.lookup('chutes/Qwen/Qwen3-32B-TEE')).toBe(m);
      expect(await app.models.lookup('no/such-model')).toBeUndefined();
      expect(lb.requests).toHaveLength(1);
      // discover afterwards reuses what lookup fetched.
      expect((await app.models.discover()).source).toBe('cache');
      expect(lb.requests).toHaveLength(1);
    });

    it('uses a stale cached list rather than fetching again', async () => {
      const lb = await upstream(serveDemo);
      const { app } = track(makeApp(lb, { modelsCacheTtlMs: 0 }));
      expect((await app.models.discover()).source).toBe('live');
      expect(await app.models.lookup('zai-org/GLM-4.7-Flash')).toBeDefined();
      expect(lb.requests).toHaveLength(1);
    });

    it('answers catalog-only models from the catalog when the live list lacks them', async () => {
      const lb = await upstream(serveDemo);
      const { app } = track(makeApp(lb));
      const glm5 = await app.models.lookup('zai-org/GLM-5-TEE');
      expect(glm5).toMatchObject({ tee: true, origin: 'catalog' });
      expect(demo.data.some((e) => e.id === 'zai-org/GLM-5-TEE')).toBe(false);
    });

    it('never fails: without the live list it answers from the catalog and does not retry within the TTL', async () => {
      const lb = await upstream((_req, res) => {
        res.writeHead(503);
        res.end('{"detail":"This chute is currently disabled."}');
      });
      const { app } = track(makeApp(lb));
      const kimi = await app.models.lookup('moonshotai/Kimi-K2.5-TEE');
      const catalogKimi = curatedCatalog().find((c) => c.upstreamId === 'moonshotai/Kimi-K2.5-TEE')!;
      expect(kimi).toMatchObject({ tee: true, contextWindow: catalogKimi.contextWindow, origin: 'catalog' });
      expect(await app.models.lookup('moonshotai/Kimi-K2.5-TEE')).toEqual(kimi);
      expect(lb.requests).toHaveLength(1);
      // discover itself still tries the live list every time.
      expect((await app.models.discover()).source).toBe('catalog');
      expect(lb.requests).toHaveLength(2);
    });

    it('never fails when the credential cannot be read, nor when the caller is already cancelled', async () => {
      const { app, cred } = track(makeApp(undefined, { discoveryTimeoutMs: 200 }));
      cred.fail = new Error('credentials.json is unreadable');
      expect(await app.models.lookup('NousResearch/Hermes-4-14B')).toMatchObject({ origin: 'catalog' });
      cred.fail = undefined;
      const aborted = AbortSignal.abort();
      expect(await app.models.lookup('NousResearch/Hermes-4-14B', { signal: aborted })).toMatchObject({ origin: 'catalog' });
    });
  });

  it('lists anonymously with a warning when the credential cannot be read', async () => {
    const lb = await upstream(serveDemo);
    const { app, cred } = track(makeApp(lb));
    cred.fail = new Error('credentials.json is unreadable');
    const r = await app.models.discover();
    expect(r.source).toBe('live');
    expect(r.warning).toContain('The credential could not be read (credentials.json is unreadable)');
    expect(lb.requests[0]!.headers.authorization).toBeUndefined();
  });

  it('sends configured headers; the credential replaces a configured Authorization, and the anonymous retry drops it', async () => {
    const lb = await upstream((req, res) => {
      if (req.headers.authorization === 'Bearer cpk_test_fake_refused') {
        res.writeHead(401, { 'content-type': 'application/json' });
        return void res.end('{"detail":"Invalid token or user not found"}');
      }
      serveDemo(req, res);
    });
    const { app, cred } = track(makeApp(lb, { headers: { Authorization: 'Bearer from-config', 'X-Team': 'a' } }));
    expect((await app.models.discover()).source).toBe('live');
    cred.current = key('cpk_test_fake_refused');
    const r = await app.models.discover();
    expect(r.source).toBe('live');
    expect(r.warning).toMatch(/^The API key from CHUTES_API_KEY was refused \(HTTP 401: Invalid token or user not found\)/);
    expect(lb.requests.map((q) => [q.headers.authorization, q.headers['x-team']])).toEqual([
      ['Bearer from-config', 'a'],
      ['Bearer cpk_test_fake_refused', 'a'],
      [undefined, 'a'],
    ]);
  });

  it('logs each skipped entry at debug level', async () => {
    const lb = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          object: 'list',
          data: [{ id: 'a/ok', max_model_len: 4096 }, { object: 'model' }, { id: 'a/ok', max_model_len: 1 }],
        }),
      );
    });
    const { app, lines } = track(makeApp(lb));
    expect((await app.models.discover()).models.map((m) => m.id)).toEqual(['chutes/a/ok']);
    expect(lines.filter((l) => l.includes('skipping entry'))).toEqual([
      'chutes-rpc debug: models: skipping entry 1: no id\n',
      'chutes-rpc debug: models: skipping entry 2 (a/ok): repeats an earlier id\n',
    ]);
  });

  it('hands out models that callers cannot corrupt', async () => {
    const lb = await upstream(serveDemo);
    const { app } = track(makeApp(lb));
    const m = (await app.models.lookup('zai-org/GLM-4.7-Flash'))!;
    expect(() => {
      (m as { tee: boolean }).tee = true;
    }).toThrow(TypeError);
    expect((await app.models.lookup('zai-org/GLM-4.7-Flash'))!.tee).toBe(false);
  });
});
