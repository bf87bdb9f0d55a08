import type * as http from 'node:http';
import { curatedCatalog } from '../../lib/chutes/models/catalog';
import { type Loopback, startLoopback, writeConfig } from '../helpers/loopback';
import { cassettePath, DOCS_MODELS, liveBody } from '../helpers/models-fixtures';
import { type RpcProcess, type SpawnOptions, tempHome, withServer } from '../helpers/rpc-process';

const FAKE_KEY = 'cpk_test_fake_key';
const demo = liveBody('models-demo.json');
const demoIds = demo.data.map((e) => `chutes/${e.id}`).sort();
const catalogIds = curatedCatalog()
  .map((c) => `chutes/${c.upstreamId}`)
  .sort();

type Handler = (req: http.IncomingMessage & { body: string }, res: http.ServerResponse) => void | Promise<void>;

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

const serveDemo: Handler = (_req, res) => sendJson(res, 200, demo);

let servers: Loopback[] = [];
async function upstream(handler: Handler): Promise<Loopback> {
  const lb = await startLoopback(handler);
  servers.push(lb);
  return lb;
}
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

/** A server whose config points at `lb`, plus any provider/chutesRpc settings. */
function against(
  lb: Loopback,
  provider: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
  opts: SpawnOptions = {},
): SpawnOptions {
  const home = opts.home ?? tempHome();
  writeConfig(home, { models: { providers: { chutes: { baseUrl: `${lb.url}/v1`, ...provider } } }, ...extra });
  return { ...opts, home };
}

async function discover(p: RpcProcess, params: Record<string, unknown> = {}) {
  const r = await p.request('models.discover', params);
  if (r.error) throw new Error(`models.discover failed: ${JSON.stringify(r.error)}`);
  return r.result;
}

function ids(result: { models: Array<{ id: string }> }): string[] {
  return result.models.map((m) => m.id).sort();
}

function expectClean(p: RpcProcess): void {
  expect(p.schemaProblems).toEqual([]);
  expect(p.malformedOutput).toEqual([]);
  expect(p.stdout.toString('utf8')).not.toContain(FAKE_KEY);
  expect(p.stderr).not.toContain(FAKE_KEY);
}

describe('models.discover against a live list (loopback HTTP)', () => {
  it.each(['ndjson', 'lsp'] as const)(
    'answers from the live list over %s, asking for JSON without a credential when there is none',
    async (framing) => {
      const lb = await upstream(serveDemo);
      await withServer(against(lb, {}, {}, { framing }), async (p) => {
        const r = await discover(p);
        expect(r.source).toBe('live');
        expect(ids(r)).toEqual(demoIds);
        expect(r.warning).toBeUndefined();
        expect(Date.now() - Date.parse(r.fetchedAt)).toBeLessThan(60_000);
        expect(lb.requests).toHaveLength(1);
        expect(lb.requests[0]!.method).toBe('GET');
        expect(lb.requests[0]!.url).toBe('/v1/models');
        expect(lb.requests[0]!.headers.accept).toBe('application/json');
        expect(lb.requests[0]!.headers.authorization).toBeUndefined();
        const kimi = r.models.find((m: { upstreamId: string }) => m.upstreamId === 'moonshotai/Kimi-K2.5-TEE');
        expect(kimi).toMatchObject({ name: 'Kimi K2.5', tee: true, recommendedFor: ['best-overall'], origin: 'live+catalog' });
        expectClean(p);
      });
    },
  );

  it('sends the credential and the configured extra headers', async () => {
    const lb = await upstream(serveDemo);
    await withServer(against(lb, { headers: { 'X-Extra': 'yes' } }, {}, { env: { CHUTES_API_KEY: FAKE_KEY } }), async (p) => {
      expect((await discover(p)).source).toBe('live');
      expect(lb.requests[0]!.headers.authorization).toBe(`Bearer ${FAKE_KEY}`);
      expect(lb.requests[0]!.headers['x-extra']).toBe('yes');
      expectClean(p);
    });
  });

  it('answers again from the cache (same fetchedAt, no request), and refresh: true fetches anew', async () => {
    const lb = await upstream(serveDemo);
    await withServer(against(lb), async (p) => {
      const first = await discover(p);
      const second = await discover(p);
      expect(second.source).toBe('cache');
      expect(second.fetchedAt).toBe(first.fetchedAt);
      expect(ids(second)).toEqual(ids(first));
      expect(lb.requests).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 5));
      const third = await discover(p, { refresh: true });
      expect(third.source).toBe('live');
      expect(Date.parse(third.fetchedAt)).toBeGreaterThan(Date.parse(first.fetchedAt));
      expect(lb.requests).toHaveLength(2);
      expect((await discover(p)).source).toBe('cache');
      expect(lb.requests).toHaveLength(2);
      expectClean(p);
    });
  });

  it('does not reuse a list older than chutesRpc.modelsCacheTtlMs', async () => {
    const lb = await upstream(serveDemo);
    await withServer(against(lb, {}, { chutesRpc: { modelsCacheTtlMs: 0 } }), async (p) => {
      expect((await discover(p)).source).toBe('live');
      expect((await discover(p)).source).toBe('live');
      expect(lb.requests).toHaveLength(2);
    });
  });

  it('keeps TEE models only with teeOnly, from the param or else the config', async () => {
    const lb = await upstream(serveDemo);
    const teeIds = demo.data
      .filter((e) => e.confidential_compute)
      .map((e) => `chutes/${e.id}`)
      .sort();
    expect(teeIds.length).toBeGreaterThan(0);
    expect(teeIds.length).toBeLessThan(demoIds.length);
    await withServer(against(lb), async (p) => {
      const r = await discover(p, { teeOnly: true });
      expect(ids(r)).toEqual(teeIds);
      expect(ids(await discover(p))).toEqual(demoIds); // the cache holds every model; the filter applies per call
    });
    await withServer(against(lb, { teeOnly: true }), async (p) => {
      expect(ids(await discover(p))).toEqual(teeIds);
      expect(ids(await discover(p, { teeOnly: false }))).toEqual(demoIds);
      expectClean(p);
    });
  });

  it('retries without a refused key (401), warns that it was refused, and never shows the key', async () => {
    const lb = await upstream((req, res) => {
      if (req.headers.authorization) return sendJson(res, 401, { detail: "Can't find a user with that api key in our db :(" });
      sendJson(res, 200, demo);
    });
    await withServer(against(lb, {}, {}, { env: { CHUTES_API_KEY: FAKE_KEY } }), async (p) => {
      const r = await discover(p);
      expect(r.source).toBe('live');
      expect(ids(r)).toEqual(demoIds);
      expect(r.warning).toMatch(/API key from CHUTES_API_KEY was refused \(HTTP 401: Can't find a user with that api key/);
      expect(lb.requests.map((q) => q.headers.authorization)).toEqual([`Bearer ${FAKE_KEY}`, undefined]);
      const again = await discover(p);
      expect(again.source).toBe('cache');
      expect(again.warning).toBe(r.warning);
      expect(lb.requests).toHaveLength(2);
      expectClean(p);
    });
  });

  it('falls back to the catalog on a 401 without a credential (no retry)', async () => {
    const lb = await upstream((_req, res) => sendJson(res, 401, { detail: 'Authentication required.' }));
    await withServer(against(lb), async (p) => {
      const r = await discover(p);
      expect(r.source).toBe('catalog');
      expect(r.warning).toContain('HTTP 401: Authentication required.');
      expect(lb.requests).toHaveLength(1);
    });
  });

  it('falls back to the catalog on a 503, saying why, and tries the live list again on the next call', async () => {
    let status = 503;
    const lb = await upstream((_req, res) =>
      status === 503 ? sendJson(res, 503, { detail: 'No instances available (yet) for chute_id=abc' }) : sendJson(res, 200, demo),
    );
    await withServer(against(lb), async (p) => {
      const r = await discover(p);
      expect(r.source).toBe('catalog');
      expect(ids(r)).toEqual(catalogIds);
      expect(r.models.every((m: { origin: string }) => m.origin === 'catalog')).toBe(true);
      expect(r.warning).toBe(
        `The live model list is unavailable (GET ${lb.url}/v1/models: HTTP 503: No instances available (yet) for chute_id=abc); showing the curated catalog.`,
      );
      expect(Date.now() - Date.parse(r.fetchedAt)).toBeLessThan(60_000);
      status = 200;
      const next = await discover(p);
      expect(next.source).toBe('live');
      expect(next.warning).toBeUndefined();
      expect(lb.requests).toHaveLength(2);
      expectClean(p);
    });
  });

  it('gives up on a server that never answers after discoveryTimeoutMs, with the catalog', async () => {
    const lb = await upstream(() => undefined); // accepts, reads, never answers
    await withServer(against(lb, { discoveryTimeoutMs: 300 }), async (p) => {
      const started = Date.now();
      const r = await discover(p);
      const took = Date.now() - started;
      expect(r.source).toBe('catalog');
      expect(r.warning).toContain('timed out after 300 ms');
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(5000);
      expectClean(p);
    });
  });

  it('gives up on a body that stalls midway', async () => {
    const lb = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"object":"list","data":[');
    });
    await withServer(against(lb, { discoveryTimeoutMs: 300 }), async (p) => {
      const r = await discover(p);
      expect(r.source).toBe('catalog');
      expect(r.warning).toMatch(/timed out/);
    });
  });

  it.each([
    ['invalid JSON', '{"object":"list","data":[{"id":"zai-org/GLM', /not valid JSON/],
    ['an empty list', { object: 'list', data: [] }, /the live list is empty/],
    ['a body without a data list', { detail: 'maintenance' }, /has no data list/],
    [
      'only unusable entries',
      { object: 'list', data: [{ object: 'model' }, { id: 7 }] },
      /none of the 2 entries of the live list is usable/,
    ],
  ])('falls back to the catalog on %s', async (_what, body, why) => {
    const lb = await upstream((_req, res) => sendJson(res, 200, body));
    await withServer(against(lb), async (p) => {
      const r = await discover(p);
      expect(r.source).toBe('catalog');
      expect(ids(r)).toEqual(catalogIds);
      expect(r.warning).toMatch(why);
      expectClean(p);
    });
  });

  it('caps the body size: a list over 8 MiB gives the catalog', async () => {
    const filler = 'x'.repeat(1024 * 1024);
    const lb = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"object":"list","padding":"');
      let sent = 0;
      const more = () => {
        while (sent < 9) {
          sent++;
          if (!res.write(filler)) return void res.once('drain', more);
        }
        res.end('","data":[]}');
      };
      more();
    });
    await withServer(against(lb), async (p) => {
      const r = await discover(p);
      expect(r.source).toBe('catalog');
      expect(r.warning).toContain('larger than 8 MiB');
    });
  });

  it('falls back to the catalog when nothing listens', async () => {
    const lb = await upstream(serveDemo);
    const opts = against(lb);
    await lb.close();
    await withServer(opts, async (p) => {
      const r = await discover(p);
      expect(r.source).toBe('catalog');
      expect(r.warning).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/v1\/models failed: .*ECONNREFUSED/);
    });
  });

  it('applies teeOnly to the catalog fallback too', async () => {
    const lb = await upstream((_req, res) => sendJson(res, 500, { detail: 'exhausted all available targets to no avail' }));
    await withServer(against(lb), async (p) => {
      const r = await discover(p, { teeOnly: true });
      expect(r.source).toBe('catalog');
      expect(r.models.length).toBeGreaterThan(0);
      expect(r.models.every((m: { tee: boolean }) => m.tee)).toBe(true);
      expect(r.warning).toContain('HTTP 500');
    });
  });

  it('lists config model entries along with the live list', async () => {
    const lb = await upstream(serveDemo);
    const models = [{ id: 'my-org/private-model', name: 'Private', contextWindow: 8192, tee: true }];
    await withServer(against(lb, { models }), async (p) => {
      const r = await discover(p);
      expect(ids(r)).toEqual([...demoIds, 'chutes/my-org/private-model'].sort());
      expect(r.models.find((m: { id: string }) => m.id === 'chutes/my-org/private-model')).toMatchObject({
        origin: 'config',
        contextWindow: 8192,
      });
      expectClean(p);
    });
  });

  it('answers a cancelled discovery with -32800 and aborts the upstream request', async () => {
    let closed!: () => void;
    const upstreamClosed = new Promise<void>((r) => (closed = r));
    const lb = await upstream((req) => void req.socket.once('close', () => closed()));
    await withServer(against(lb, { discoveryTimeoutMs: 60_000 }), async (p) => {
      const reply = p.request('models.discover', {}, 'd1');
      while (lb.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
      p.notify('$/cancelRequest', { id: 'd1' });
      const r = await reply;
      expect(r.error?.code).toBe(-32800);
      await upstreamClosed;
    });
  });

  it('answers -32020 when the config file is invalid', async () => {
    const home = tempHome();
    writeConfig(home, { models: { providers: { chutes: { baseUrl: 'http://example.com/v1' } } } });
    await withServer({ home }, async (p) => {
      const r = await p.request('models.discover', {});
      expect(r.error?.code).toBe(-32020);
    });
  });

  it('refuses unknown params with -32602', async () => {
    await withServer({}, async (p) => {
      const r = await p.request('models.discover', { teeOnly: 'yes', extra: 1 });
      expect(r.error?.code).toBe(-32602);
    });
  });
});

describe('models.discover from the recorded fixtures (--replay)', () => {
  const replay = (name: string, opts: SpawnOptions = {}): SpawnOptions => ({
    ...opts,
    args: ['--replay', cassettePath(name), ...(opts.args ?? [])],
  });

  it('maps the demo list, the docs models among it', async () => {
    await withServer(replay('models-demo.json'), async (p) => {
      const r = await discover(p);
      expect(r.source).toBe('live');
      expect(ids(r)).toEqual(demoIds);
      for (const id of DOCS_MODELS) expect(ids(r)).toContain(`chutes/${id}`);
      expectClean(p);
    });
  });

  it('maps the edge cases and skips the bad entries (logging each at debug)', async () => {
    await withServer(replay('models-edge.json', { args: ['--log-level', 'debug'] }), async (p) => {
      const r = await discover(p);
      expect(r.source).toBe('live');
      const byId = Object.fromEntries(r.models.map((m: { upstreamId: string }) => [m.upstreamId, m]));
      expect(Object.keys(byId)).toHaveLength(9);
      expect(byId['unsloth/Llama-3.2-3B-Instruct']).toMatchObject({ contextWindow: 131072, maxOutputTokens: 8192 });
      expect(byId['deepseek-ai/DeepSeek-R1-0528-TEE']).toMatchObject({ contextWindow: 131072, origin: 'live+catalog' });
      expect(byId['Mistral-Nemo-Instruct-2407']).toMatchObject({ id: 'chutes/Mistral-Nemo-Instruct-2407', pricing: { input: 0.02 } });
      expect(byId['Qwen/Qwen3-VL-235B-A22B-Instruct'].inputModalities).toContain('video');
      expect(byId['lmms-lab/LLaVA-Video-7B-Qwen2'].capabilities.vision).toBe(false);
      expect(byId['Qwen/Qwen3-14B-TEE'].tee).toBe(false);
      expect(byId['openai/gpt-oss-20b'].tee).toBe(true);
      expect(byId['NousResearch/Hermes-4-14B'].contextWindow).toBe(40960);
      expect(p.stderr).toMatch(/skipping entry 9 \(NousResearch\/Hermes-4-14B\): repeats an earlier id/);
      expect(p.stderr).toMatch(/skipping entry 12 \(broken\/context-as-text\): context_length is not a whole number/);
      expectClean(p);
    });
  });

  it.each([
    ['models-503.json', /HTTP 503: No instances available/],
    ['models-invalid-json.json', /not valid JSON/],
    ['models-empty.json', /the live list is empty/],
  ])('falls back to the catalog for %s', async (name, why) => {
    await withServer(replay(name), async (p) => {
      const r = await discover(p);
      expect(r.source).toBe('catalog');
      expect(ids(r)).toEqual(catalogIds);
      expect(r.warning).toMatch(why);
      expectClean(p);
    });
  });

  it('retries a refused key anonymously (models-401.json)', async () => {
    await withServer(replay('models-401.json', { env: { CHUTES_API_KEY: FAKE_KEY } }), async (p) => {
      const r = await discover(p);
      expect(r.source).toBe('live');
      expect(r.models).toHaveLength(3);
      expect(r.warning).toMatch(/was refused \(HTTP 401/);
      expectClean(p);
    });
  });
});
