import { ChutesContext } from '../../../lib/chutes/context';
import { runChat } from '../../../lib/chutes/chat/call';
import { limitFacts, nextUtcMidnight } from '../../../lib/chutes/http/limit-errors';
import { resolveConfigValue } from '../../../lib/config/load';
import type { ChatMessage, ChatParams } from '../../../lib/generated/types';
import { Logger } from '../../../lib/log/logger';
import { toRpcError } from '../../../lib/methods/rpc-errors';
import type { RpcError } from '../../../lib/server/rpc-error';
import { event, liveModel, startSse, startUpstream, type Upstream, wireChunk, writeStream } from '../../helpers/chat-upstream';
import { tempHome } from '../../helpers/rpc-process';

const user: [ChatMessage] = [{ role: 'user', content: 'hi' }];

function makeApp(baseUrl: string, provider: Record<string, unknown> = {}): { app: ChutesContext; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger((l) => lines.push(l));
  log.setLevel('debug');
  const state = resolveConfigValue(
    { models: { providers: { chutes: { baseUrl, apiKey: 'cpk_test_fake_key', retryBaseDelayMs: 1, ...provider } } } },
    {},
  );
  return { app: new ChutesContext({ home: tempHome() }, state, log, {}), lines };
}

const chat = (app: ChutesContext, params: Partial<ChatParams>) =>
  runChat(app, { params: { messages: user, ...params }, streamId: 's', signal: new AbortController().signal });

async function failure(p: Promise<unknown>): Promise<RpcError & { data: any }> {
  return p.then(
    (r) => {
      throw new Error(`expected a failure, got ${JSON.stringify(r)}`);
    },
    (e: unknown) => toRpcError(e) as RpcError & { data: any },
  );
}

function refuse(status: number, detail: unknown) {
  return (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ detail }));
  };
}

describe('limit errors', () => {
  it('reads the 429s retrying cannot fix and the 402 cases from the service text', () => {
    const now = Date.parse('2026-03-04T17:20:00Z');
    expect(nextUtcMidnight(now)).toBe('2026-03-05T00:00:00.000Z');
    expect(
      limitFacts(
        429,
        JSON.stringify({
          detail: 'Free models limit reached for today - maintain >= $10 balance or upgrade subscription to increase limits.',
        }),
        now,
      ),
    ).toMatchObject({
      reason: 'daily_limit',
      retryable: false,
      resetAt: '2026-03-05T00:00:00.000Z',
    });
    expect(limitFacts(429, JSON.stringify({ detail: 'Invalid free model xyz' }), now)).toMatchObject({
      reason: 'invalid_free_model',
      retryable: false,
    });
    expect(limitFacts(429, JSON.stringify({ detail: 'Rate limit exceeded. Try again later.' }), now)).toMatchObject({
      reason: 'endpoint_rate_limit',
      retryable: false,
    });
    expect(limitFacts(429, JSON.stringify({ detail: 'Infrastructure is at maximum capacity, try again later' }), now)).toEqual({});
    expect(
      limitFacts(
        402,
        JSON.stringify({ detail: { message: 'Quota exceeded for today.', quota_reset_timestamp: '2026-03-05T00:00:00+00:00' } }),
        now,
      ),
    ).toMatchObject({ reason: 'quota_exceeded', resetAt: '2026-03-05T00:00:00.000Z' });
    const texts: Array<[string, string]> = [
      ['TEE models require an active subscription or positive balance.', 'tee_subscription'],
      ['This model requires a higher subscription tier.', 'subscription_tier'],
      ['Subscription usage cap exceeded for this period.', 'usage_cap'],
      ['Chute unavailable because the creator of this chute has zero balance.', 'creator_balance'],
    ];
    for (const [detail, reason] of texts)
      expect(limitFacts(402, JSON.stringify({ detail }), now)).toMatchObject({ reason, resolution: expect.any(String) });
  });
});

describe('runChat against the live shapes', () => {
  let up: Upstream;
  beforeAll(async () => {
    up = await startUpstream();
    up.models.push(liveModel('deepseek-ai/DeepSeek-V3.2-TEE', true), liveModel('acme/Plain', false), liveModel('acme/Tee', true));
  });
  afterAll(() => up.close());

  it('does not retry the daily free-model limit, and says when it resets', async () => {
    up.scripts.set(
      'acme/Daily',
      refuse(429, 'Free models limit reached for today - maintain >= $10 balance or upgrade subscription to increase limits.'),
    );
    const before = up.chats.length;
    const e = await failure(chat(makeApp(`${up.url}/v1`).app, { model: 'acme/Daily' }));
    expect(e.code).toBe(-32029);
    expect(e.data).toMatchObject({ type: 'rate_limited', httpStatus: 429, retryable: false, reason: 'daily_limit', attempts: 1 });
    expect(e.data.resetAt).toBe(nextUtcMidnight(Date.now()));
    expect(up.chats.length - before).toBe(1);
  });

  it('gives a 402 its quota reset time and resolution', async () => {
    up.scripts.set('acme/Quota', refuse(402, { message: 'Quota exceeded', quota_reset_timestamp: '2030-01-02T00:00:00Z' }));
    const e = await failure(chat(makeApp(`${up.url}/v1`).app, { model: 'acme/Quota' }));
    expect(e.code).toBe(-32002);
    expect(e.data).toMatchObject({ reason: 'quota_exceeded', resetAt: '2030-01-02T00:00:00.000Z', retryable: false });
  });

  it('keeps retrying an engine error the server maps to 503 as -32053, a few times only', async () => {
    up.scripts.set('acme/Engine', refuse(503, { object: 'error', message: 'engine error', code: 503 }));
    const before = up.chats.length;
    const e = await failure(chat(makeApp(`${up.url}/v1`, { maxRetries: 2 }).app, { model: 'acme/Engine' }));
    expect(e.code).toBe(-32053);
    expect(up.chats.length - before).toBe(3);
  });

  it('reports the served and the requested model, the invocation id, and the last cumulative usage', async () => {
    up.scripts.set('deepseek-ai/DeepSeek-V3.2', async (_req, res) => {
      startSse(res, { 'x-chutes-invocationid': 'inv-0042', 'x-chutes-rl-user': 'inf' });
      const served = 'deepseek-ai/DeepSeek-V3.2-TEE';
      const u = (c: number) => ({
        prompt_tokens: 10,
        completion_tokens: c,
        total_tokens: 10 + c,
        prompt_tokens_details: { cached_tokens: 0 },
      });
      res.write(event({ ...wireChunk(served, { role: 'assistant', content: '' }), usage: u(0) }));
      res.write(event({ ...wireChunk(served, { content: 'Hi' }), usage: u(1) }));
      res.write(event({ ...wireChunk(served, { content: '!' }), usage: u(2) }));
      res.write(event({ ...wireChunk(served, {}, 'stop'), usage: u(2) }));
      res.end(event('[DONE]'));
    });
    const r = await chat(makeApp(`${up.url}/v1`).app, { model: 'chutes/deepseek-ai/DeepSeek-V3.2' });
    expect(r).toMatchObject({
      model: 'chutes/deepseek-ai/DeepSeek-V3.2-TEE',
      requestedModel: 'chutes/deepseek-ai/DeepSeek-V3.2',
      invocationId: 'inv-0042',
      usage: { promptTokens: 10, completionTokens: 2, totalTokens: 12 },
      rateLimit: { unlimited: true },
    });
    // Priced from the served model: 10 x 0.1 + 2 x 0.4 per 1M tokens.
    expect(r.cost).toEqual({ usd: 0.0000018 });
  });

  it('with teeOnly, sends X-TEE-Only and stops a stream the server answers with a model known not to be TEE', async () => {
    up.scripts.set('acme/Tee', async (req, res) => {
      expect(req.headers['x-tee-only']).toBe('true');
      startSse(res);
      res.write(event(wireChunk('acme/Plain', { role: 'assistant', content: '' })));
      res.write(event(wireChunk('acme/Plain', { content: 'secret text' })));
      await writeStream(res, 'acme/Plain', [{ content: ' more' }]);
    });
    const e = await failure(chat(makeApp(`${up.url}/v1`, { teeOnly: true }).app, { model: 'acme/Tee' }));
    expect(e.code).toBe(-32061);
    expect(e.data.message).toMatch(/answered with chutes\/acme\/Plain/);
    expect(e.data.partial).toBeUndefined();
  });

  it('sends a model the list does not show (a community chute), with a warning', async () => {
    up.scripts.set('someone/community-chute', async (_req, res) => {
      startSse(res);
      await writeStream(res, 'someone/community-chute', [{ content: 'hello' }]);
    });
    const { app, lines } = makeApp(`${up.url}/v1`);
    const r = await chat(app, { model: 'someone/community-chute' });
    expect(r.message.content).toBe('hello');
    expect(lines.join('\n')).toMatch(/chutes\/someone\/community-chute is not in the model list.*sending it anyway/);
  });
});
