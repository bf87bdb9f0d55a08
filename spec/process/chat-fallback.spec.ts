import { event, FAKE_KEY, startSse, startUpstream, type Upstream, wireChunk, writeStream } from '../helpers/chat-upstream';
import { writeConfig } from '../helpers/loopback';
import { RpcProcess, tempHome } from '../helpers/rpc-process';

const user = [{ role: 'user', content: 'hi' }];
const DAILY = 'Free models limit reached for today - maintain >= $10 balance or upgrade subscription to increase limits.';

/** A home whose config names fallbacks in the OpenClaw key, agents.defaults.model.fallbacks. */
function fallbackHome(up: Upstream): string {
  const home = tempHome();
  writeConfig(home, {
    agents: { defaults: { model: { primary: 'chutes/acme/Primary', fallbacks: ['chutes/acme/Spare'] } } },
    models: { providers: { chutes: { baseUrl: `${up.url}/v1`, apiKey: FAKE_KEY, retryBaseDelayMs: 1, warmup: false } } },
  });
  return home;
}

describe.each(['ndjson', 'lsp'] as const)('fallbacks, whole process (%s)', (framing) => {
  let up: Upstream;
  let p: RpcProcess;
  beforeAll(async () => {
    up = await startUpstream();
    p = new RpcProcess({ home: fallbackHome(up), framing });
  });
  afterAll(async () => {
    await p.stop();
    await up.close();
  });
  const requested = (model: string) => up.chats.filter((r) => r.json.model === model).length;
  const statusesOf = (id: string) => p.notifications.filter((m) => m.method === 'chat.status' && m.params.streamId === id);

  it('lists fallbacks in capabilities.features', async () => {
    const r = await p.request('initialize', { clientInfo: { name: 'test' } });
    expect(r.result.capabilities.features).toContain('fallbacks');
  });

  it('a primary that answers 402: the configured fallback answers, the result says so, and chat.status announced it', async () => {
    up.scripts.set('acme/Primary', (_req, res) => {
      res.writeHead(402, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: { message: 'Quota exceeded for today', quota_reset_timestamp: '2099-01-01T00:00:00+00:00' } }));
    });
    up.scripts.set('acme/Spare', async (_req, res) => {
      startSse(res);
      await writeStream(res, 'acme/Spare', [{ content: 'spare ' }, { content: 'answer' }]);
    });
    const r = await p.request('chat.stream', { messages: user }, 'fb-402');
    expect(r.result).toMatchObject({
      model: 'chutes/acme/Spare',
      requestedModel: 'chutes/acme/Primary',
      message: { content: 'spare answer' },
      attempts: 2,
      fallbackReasons: [
        {
          model: 'chutes/acme/Primary',
          type: 'payment_required',
          code: -32002,
          httpStatus: 402,
          reason: 'quota_exceeded',
          resetAt: '2099-01-01T00:00:00.000Z',
          message: expect.stringMatching(/HTTP 402: Quota exceeded/),
        },
      ],
    });
    const statuses = statusesOf('fb-402');
    expect(statuses.map((m) => m.params)).toEqual([
      {
        streamId: 'fb-402',
        phase: 'fallback',
        model: 'chutes/acme/Spare',
        reason: 'payment_required',
        message: expect.stringMatching(/chutes\/acme\/Primary failed: HTTP 402.*trying chutes\/acme\/Spare \(fallback 1 of 1\)/),
      },
    ]);
    // The status comes before the first delta, and the deltas count from 0.
    const deltas = p.notifications.filter((m) => m.method === 'chat.delta' && m.params.streamId === 'fb-402');
    expect(deltas[0]!.params.seq).toBe(0);
    expect(p.messages.indexOf(statuses[0]!)).toBeLessThan(p.messages.indexOf(deltas[0]!));
    expect(p.schemaProblems).toEqual([]);
  });

  it('a daily-limit 429 marks the model: the next call skips it without an upstream request, and fails at once without fallbacks', async () => {
    up.scripts.set('acme/Daily', (_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: DAILY }));
    });
    const first = await p.request('chat.complete', { model: 'acme/Daily', messages: user }, 'daily-1');
    expect(first.result.model).toBe('chutes/acme/Spare');
    expect(first.result.fallbackReasons[0]).toMatchObject({ model: 'chutes/acme/Daily', reason: 'daily_limit' });
    expect(requested('acme/Daily')).toBe(1);

    const second = await p.request('chat.complete', { model: 'acme/Daily', messages: user }, 'daily-2');
    expect(second.result.model).toBe('chutes/acme/Spare');
    expect(second.result.fallbackReasons).toEqual([
      expect.objectContaining({ model: 'chutes/acme/Daily', type: 'rate_limited', reason: 'daily_limit', skipped: true }),
    ]);
    expect(statusesOf('daily-2')[0]!.params.message).toMatch(
      /chutes\/acme\/Daily is exhausted until .*\(daily_limit\); trying chutes\/acme\/Spare/,
    );

    const third = await p.request('chat.complete', { model: 'acme/Daily', messages: user, fallbacks: [] }, 'daily-3');
    expect(third.error).toMatchObject({
      code: -32029,
      data: { type: 'rate_limited', reason: 'daily_limit', retryable: false, resetAt: first.result.fallbackReasons[0].resetAt },
    });
    expect(third.error!.data.resolution).toMatch(/It resets at /);
    expect(requested('acme/Daily')).toBe(1);
    expect(p.schemaProblems).toEqual([]);
  });

  it('never falls back after the first delta: the stream fails with the partial message', async () => {
    up.scripts.set('acme/Breaks', (_req, res) => {
      startSse(res);
      res.write(event(wireChunk('acme/Breaks', { content: 'Half an ans' })));
      res.end(event({ error: { message: 'engine overloaded', code: 503 } }));
    });
    const before = requested('acme/Spare');
    const r = await p.request('chat.stream', { model: 'acme/Breaks', messages: user }, 'mid');
    expect(r.error).toMatchObject({ code: -32053, data: { type: 'model_unavailable', partial: { content: 'Half an ans' } } });
    expect(r.error!.data.fallbackReasons).toBeUndefined();
    expect(p.notifications.some((m) => m.method === 'chat.delta' && m.params.streamId === 'mid')).toBe(true);
    expect(statusesOf('mid')).toEqual([]);
    expect(requested('acme/Spare')).toBe(before);
  });

  it('refuses a fallbacks entry that is no model selector, and a routing list with e2ee', async () => {
    const bad = await p.request('chat.complete', { messages: user, fallbacks: ['acme/A,,acme/B'] });
    expect(bad.error).toMatchObject({ code: -32602, data: { errors: [{ path: '/fallbacks/0' }] } });
    const e2ee = await p.request('chat.complete', { messages: user, e2ee: 'require', fallbacks: ['acme/A,acme/B'] });
    expect(e2ee.error).toMatchObject({ code: -32602, data: { errors: [{ path: '/fallbacks/0' }] } });
  });
});
