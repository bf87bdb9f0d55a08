import { chatHome, FAKE_KEY, liveModel, startSse, startUpstream, type Upstream, writeStream } from '../helpers/chat-upstream';
import { execFile } from 'node:child_process';
import { BIN, cleanEnv, RpcProcess, tempHome } from '../helpers/rpc-process';
import { writeConfig } from '../helpers/loopback';

const CHUTE = '3f2e1d0c-9b8a-5c7d-6e5f-4a3b2c1d0e9f';

function json(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

describe('account.quota and chat.report against a loopback Chutes API', () => {
  let up: Upstream;
  let p: RpcProcess;
  beforeAll(async () => {
    up = await startUpstream();
    up.models.push(liveModel('acme/Listed', false));
    // apiBaseUrl is the origin of a loopback baseUrl: /users and /invocations live beside /v1.
    p = new RpcProcess({ home: chatHome(up) });
  });
  afterAll(async () => {
    await p.stop();
    await up.close();
  });

  it('initialize lists the features: pacing, quota, report', async () => {
    const r = await p.request('initialize', {});
    expect(r.result.capabilities.features).toEqual(expect.arrayContaining(['pacing', 'quota', 'report']));
    expect(r.result.capabilities.methods).toEqual(expect.arrayContaining(['account.quota', 'chat.report']));
  });

  it('asks quota_usage for the chute_id of the model and the subscription usage, with the credential', async () => {
    up.routes.set(`GET /users/me/quota_usage/${CHUTE}`, (_req, res) => json(res, 200, { quota: 200, used: 37 }));
    up.routes.set('GET /users/me/subscription_usage', (_req, res) => json(res, 200, { used_usd: 2.5, limit_usd: 50, plan: { nested: 1 } }));
    const r = await p.request('account.quota', { model: 'chutes/acme/Listed' });
    expect(r.result).toEqual({
      quota: 200,
      used: 37,
      remaining: 163,
      resetAt: expect.stringMatching(/T00:00:00\.000Z$/),
      model: 'chutes/acme/Listed',
      chuteId: CHUTE,
      subscription: { used_usd: 2.5, limit_usd: 50 },
    });
    expect(Date.parse(r.result.resetAt) - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
    const asked = up.requests.filter((q) => q.url.startsWith('/users/me/'));
    expect(asked.map((q) => q.url).sort()).toEqual([`/users/me/quota_usage/${CHUTE}`, '/users/me/subscription_usage']);
    for (const q of asked) expect(q.headers.authorization).toBe(`Bearer ${FAKE_KEY}`);
    expect(p.schemaProblems).toEqual([]);
  });

  it('"unlimited", a chute_id given as it is, the account-wide quota, and a subscription usage that fails (a warning)', async () => {
    const other = '0a1b2c3d-4e5f-5a6b-8c7d-9e0f1a2b3c4d';
    up.routes.set(`GET /users/me/quota_usage/${other}`, (_req, res) => json(res, 200, { quota: 'unlimited' }));
    up.routes.set('GET /users/me/quota_usage/me', (_req, res) => json(res, 200, { quota: 2000, used: 2100 }));
    up.routes.set('GET /users/me/subscription_usage', (_req, res) => json(res, 404, { detail: 'No subscription' }));
    const unlimited = await p.request('account.quota', { model: other });
    expect(unlimited.result).toEqual(expect.objectContaining({ quota: 'unlimited', used: 0, chuteId: other }));
    expect(unlimited.result.remaining).toBeUndefined();
    expect(unlimited.result.warning).toMatch(/no subscription usage: .*HTTP 404: No subscription/);
    const account = await p.request('account.quota', {});
    expect(account.result).toEqual(expect.objectContaining({ quota: 2000, used: 2100, remaining: 0 }));
    expect(account.result.chuteId).toBeUndefined();
    expect(p.schemaProblems).toEqual([]);
  });

  it('answers a model with no chute_id -32004, and the service refusing the credential -32001', async () => {
    const unknown = await p.request('account.quota', { model: 'acme/Unlisted' });
    expect(unknown.error).toEqual(expect.objectContaining({ code: -32004 }));
    up.routes.set(`GET /users/me/quota_usage/${CHUTE}`, (_req, res) => json(res, 401, { detail: 'Invalid token or user not found' }));
    const refused = await p.request('account.quota', { model: 'acme/Listed' });
    expect(refused.error?.data).toEqual(expect.objectContaining({ type: 'unauthorized', httpStatus: 401 }));
  });

  it('chat.report posts the reason for the invocationId of a chat result', async () => {
    up.scripts.set('acme/Listed', async (_req, res) => {
      startSse(res, { 'x-chutes-invocationid': 'inv-42/a b' });
      await writeStream(res, 'acme/Listed', [{ content: 'wrong' }]);
    });
    const chat = await p.request('chat.complete', { model: 'acme/Listed', messages: [{ role: 'user', content: 'hi' }] });
    const invocationId = chat.result.invocationId as string;
    expect(invocationId).toBe('inv-42/a b');
    const path = `/invocations/${encodeURIComponent(invocationId)}/report`;
    up.routes.set(`POST ${path}`, (_req, res) => json(res, 200, { ok: true }));
    const r = await p.request('chat.report', { invocationId, reason: 'It answered in French.' });
    expect(r.result).toEqual({ reported: true, invocationId });
    const sent = up.requests.find((q) => q.method === 'POST' && q.url === path)!;
    expect(JSON.parse(sent.body)).toEqual({ reason: 'It answered in French.' });
    expect(sent.headers.authorization).toBe(`Bearer ${FAKE_KEY}`);
    expect(sent.headers['content-type']).toBe('application/json');

    const missing = await p.request('chat.report', { invocationId: 'nope', reason: 'x' });
    expect(missing.error).toEqual(expect.objectContaining({ code: -32004 }));
    expect(missing.error?.data.resolution).toMatch(/invocationId/);
    const empty = await p.request('chat.report', { invocationId: 'x', reason: '' });
    expect(empty.error?.code).toBe(-32602);
  });

  it('without a credential both answer -32010 and send nothing', async () => {
    const home = tempHome();
    writeConfig(home, { models: { providers: { chutes: { baseUrl: `${up.url}/v1` } } } });
    const bare = new RpcProcess({ home });
    try {
      const before = up.requests.length;
      expect((await bare.request('account.quota', {})).error?.code).toBe(-32010);
      expect((await bare.request('chat.report', { invocationId: 'x', reason: 'y' })).error?.code).toBe(-32010);
      expect(up.requests.length).toBe(before);
    } finally {
      await bare.stop();
    }
  });

  it('chutes-rpc quota [model] prints the same, in words or as JSON', async () => {
    up.routes.set('GET /users/me/quota_usage/me', (_req, res) => json(res, 200, { quota: 'unlimited' }));
    up.routes.set('GET /users/me/subscription_usage', (_req, res) => json(res, 200, { used_usd: 1 }));
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [BIN, 'quota', ...args], { env: cleanEnv({ CHUTES_RPC_HOME: p.home }) }, (err, stdout, stderr) =>
          resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
        );
      });
    const [words, asJson, unknown] = await Promise.all([run([]), run(['--json']), run(['acme/Unlisted'])]);
    expect(words).toEqual(expect.objectContaining({ code: 0, stdout: expect.stringMatching(/^quota: unlimited\nused: 0\n/) }));
    expect(words.stdout).toMatch(/subscription: used_usd=1/);
    expect(JSON.parse(asJson.stdout)).toEqual(expect.objectContaining({ quota: 'unlimited', subscription: { used_usd: 1 } }));
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/chutes-rpc: .*acme\/Unlisted is not in the model list/);
  });
});
