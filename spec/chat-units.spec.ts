import { computeCost } from '../lib/chutes/chat/cost';
import { parseRateLimit, serverWaitMs } from '../lib/chutes/http/rate-limit-headers';
import { ChatAssembler, completionAsChunk, mapUsage } from '../lib/chutes/chat/assembler';
import { wireHeaders, wireRequest } from '../lib/chutes/chat/request';
import { modelIds, publicModelId, upstreamModel } from '../lib/chutes/models/model-id';
import { retryDelayMs } from '../lib/chutes/chat/retry';
import { isRetryableNetworkError } from '../lib/chutes/http/retryable';
import { sleep } from '../lib/util/abort';
import type { ChatParams } from '../lib/generated/types';

describe('request mapping', () => {
  it('maps chutes/X and X to the upstream X, entry by entry in a failover list, keeping routing suffixes', () => {
    expect(upstreamModel('chutes/zai-org/GLM-4.7-Flash')).toBe('zai-org/GLM-4.7-Flash');
    expect(upstreamModel('zai-org/GLM-4.7-Flash')).toBe('zai-org/GLM-4.7-Flash');
    expect(upstreamModel('chutes/a/B:THINKING, c/D')).toBe('a/B:THINKING,c/D');
    expect(modelIds('a/B:THINKING,c/D:latency')).toEqual(['a/B', 'c/D']);
    expect(publicModelId('a/B')).toBe('chutes/a/B');
  });

  it('maps camelCase params to the wire names and passes messages and tools through', () => {
    const image = { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' as const } };
    const params: ChatParams = {
      model: 'chutes/Qwen/Qwen3-32B-TEE',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'What is this?' }, image] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '42' },
      ],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      toolChoice: { type: 'function', function: { name: 'f' } },
      responseFormat: { type: 'json_object' },
      temperature: 0.2,
      topP: 0.9,
      maxTokens: 64,
      stop: ['\n\n'],
      seed: 7,
      reasoningEffort: 'low',
      thinking: true,
      teeOnly: true,
      streamId: 's',
      profile: 'p',
    };
    const { body, upstreamModel: model } = wireRequest(params, { defaultModel: 'chutes/zai-org/GLM-4.7-Flash' });
    expect(model).toBe('Qwen/Qwen3-32B-TEE');
    expect(body).toEqual({
      model: 'Qwen/Qwen3-32B-TEE',
      messages: [{ role: 'system', content: 'Be brief.' }, params.messages[1], params.messages[2], params.messages[3]],
      stream: true,
      stream_options: { include_usage: true },
      tools: params.tools,
      tool_choice: params.toolChoice,
      response_format: { type: 'json_object' },
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 64,
      stop: ['\n\n'],
      seed: 7,
      reasoning_effort: 'low',
    });
    // Extensions are not sent in the body; the original developer message is left alone.
    expect(params.messages[0].role).toBe('developer');
  });

  it('uses the configured default model when none is given', () => {
    expect(wireRequest({ messages: [{ role: 'user', content: 'hi' }] }, { defaultModel: 'chutes/zai-org/GLM-4.7-Flash' }).body.model).toBe(
      'zai-org/GLM-4.7-Flash',
    );
  });

  it('sends the bearer token, X-TEE-Only and X-Enable-Thinking, and configured headers that cannot replace ours', () => {
    const h = wireHeaders({
      token: 'cpk_test_fake_key',
      config: {
        headers: { 'X-Extra': '1', Authorization: 'Bearer other' },
        modelEntries: [
          { id: 'chutes/a/B', headers: { 'X-Model': 'b' } },
          { id: 'c/D', headers: { 'X-Not': 'd' } },
        ],
      },
      upstreamModel: 'a/B',
      teeOnly: true,
      thinking: true,
      userAgent: 'chutes-rpc/test',
    });
    expect(h).toEqual({
      'x-extra': '1',
      'x-model': 'b',
      authorization: 'Bearer cpk_test_fake_key',
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'user-agent': 'chutes-rpc/test',
      'x-tee-only': 'true',
      'x-enable-thinking': 'true',
    });
    const plain = wireHeaders({
      token: 't',
      config: { headers: {}, modelEntries: [] },
      upstreamModel: 'a/B',
      teeOnly: false,
      userAgent: 'u',
    });
    expect(plain['x-tee-only']).toBeUndefined();
    expect(plain['x-enable-thinking']).toBeUndefined();
  });
});

const chunk = (delta: object, extra: object = {}) => ({ model: 'm/served', choices: [{ index: 0, delta, finish_reason: null }], ...extra });

describe('ChatAssembler', () => {
  it('assembles two tool calls whose arguments are split across chunks, and reports each piece', () => {
    const a = new ChatAssembler();
    const deltas = [
      a.add(chunk({ role: 'assistant', content: '' })),
      a.add(chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] })),
      a.add(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })),
      a.add(chunk({ tool_calls: [{ index: 1, id: 'call_b', function: { name: 'get_time', arguments: '{"tz"' } }] })),
      a.add(
        chunk({
          tool_calls: [
            { index: 0, function: { arguments: '"Paris"}' } },
            { index: 1, function: { arguments: ':"UTC"}' } },
          ],
        }),
      ),
      a.add({ model: 'm/served', choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }),
    ];
    expect(deltas).toEqual([
      undefined,
      { toolCalls: [{ index: 0, id: 'call_a', name: 'get_weather' }] },
      { toolCalls: [{ index: 0, argumentsDelta: '{"city":' }] },
      { toolCalls: [{ index: 1, id: 'call_b', name: 'get_time', argumentsDelta: '{"tz"' }] },
      {
        toolCalls: [
          { index: 0, argumentsDelta: '"Paris"}' },
          { index: 1, argumentsDelta: ':"UTC"}' },
        ],
      },
      undefined,
    ]);
    expect(a.message()).toEqual({
      role: 'assistant',
      content: '',
      toolCalls: [
        { id: 'call_a', type: 'function', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { id: 'call_b', type: 'function', name: 'get_time', arguments: '{"tz":"UTC"}' },
      ],
    });
    expect(a.finishReason).toBe('tool_calls');
    expect(a.deltas).toBe(4);
    expect(a.servedModel).toBe('m/served');
  });

  it('takes the reasoning field that has text when the other is empty', () => {
    const a = new ChatAssembler();
    expect(a.add(chunk({ reasoning_content: '', reasoning: 'C' }))).toEqual({ reasoning: 'C' });
    expect(a.message().reasoning).toBe('C');
  });

  it('takes reasoning from reasoning_content or reasoning, and only once when an engine sends both', () => {
    const a = new ChatAssembler();
    expect(a.add(chunk({ reasoning_content: 'one ' }))).toEqual({ reasoning: 'one ' });
    expect(a.add(chunk({ reasoning: 'two ' }))).toEqual({ reasoning: 'two ' });
    expect(a.add(chunk({ reasoning_content: 'three', reasoning: 'three' }))).toEqual({ reasoning: 'three' });
    expect(a.add(chunk({ content: 'answer', reasoning_content: null }))).toEqual({ content: 'answer' });
    expect(a.message()).toEqual({ role: 'assistant', content: 'answer', reasoning: 'one two three' });
  });

  it('gives an id to a tool call that came without one, and keeps the last whole name', () => {
    const a = new ChatAssembler();
    a.add(chunk({ tool_calls: [{ function: { name: 'f', arguments: '{' } }] }));
    a.add(chunk({ tool_calls: [{ function: { name: 'f', arguments: '}' } }] }));
    const [call] = a.message().toolCalls!;
    expect(call).toEqual({ id: expect.stringMatching(/^call_[A-Za-z0-9_-]+$/), type: 'function', name: 'f', arguments: '{}' });
    expect(a.message().toolCalls![0]!.id).toBe(call!.id);
  });

  it('maps the usage chunk (choices: []) with cached tokens', () => {
    const a = new ChatAssembler();
    expect(
      a.add({
        choices: [],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 4 } },
      }),
    ).toBeUndefined();
    expect(mapUsage(a.usage)).toEqual({ promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 4 });
    expect(mapUsage({ prompt_tokens: 3, completion_tokens: 2, prompt_tokens_details: null })).toEqual({
      promptTokens: 3,
      completionTokens: 2,
      totalTokens: 5,
    });
    expect(mapUsage(undefined)).toBeUndefined();
  });

  it('reads a whole completion as one chunk', () => {
    const a = new ChatAssembler();
    a.add(
      completionAsChunk({
        model: 'm',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: 'hi',
              reasoning_content: 'r',
              tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
            },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }),
    );
    expect(a.message()).toEqual({
      role: 'assistant',
      content: 'hi',
      reasoning: 'r',
      toolCalls: [{ id: 'c', type: 'function', name: 'f', arguments: '{}' }],
    });
    expect(a.finishReason).toBe('stop');
  });
});

describe('cost and rate limits', () => {
  const usage = { promptTokens: 1000, completionTokens: 500, totalTokens: 1500, cachedTokens: 200 };

  it('prices uncached prompt tokens, cache reads and completion tokens (USD per 1M tokens)', () => {
    expect(computeCost(usage, { input: 0.1, output: 0.4, cacheRead: 0.01, unit: 'USD per 1M tokens' })).toEqual({ usd: 0.000282 });
    // No cache-read price: cached tokens cost the input price.
    expect(computeCost(usage, { input: 0.1, output: 0.4, cacheRead: null, unit: 'USD per 1M tokens' })).toEqual({ usd: 0.0003 });
    expect(computeCost(usage, { input: null, output: 0.4, cacheRead: null, unit: 'USD per 1M tokens' })).toBeUndefined();
    expect(computeCost(usage, undefined)).toBeUndefined();
  });

  it('reads X-RateLimit-* (reset as epoch seconds or seconds from now)', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(
      parseRateLimit({ 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '59', 'x-ratelimit-reset': String(now / 1000 + 30) }, now),
    ).toEqual({
      limit: 60,
      remaining: 59,
      resetAt: '2026-01-01T00:00:30.000Z',
    });
    expect(parseRateLimit({ 'x-ratelimit-reset': '12' }, now)).toEqual({ resetAt: '2026-01-01T00:00:12.000Z' });
  });

  it('reads the X-Chutes-Quota-* / X-Chutes-RL-* headers and the invocation id', () => {
    expect(
      parseRateLimit({
        'x-chutes-quota-total': '5000',
        'x-chutes-quota-used': '125',
        'x-chutes-rl-user': '60',
        'x-chutes-rl-chute': '20',
        'x-chutes-invocationid': 'inv_123',
      }),
    ).toEqual({ limit: 60, chuteLimit: 20, quotaTotal: 5000, quotaUsed: 125, quotaRemaining: 4875, invocationId: 'inv_123' });
    expect(parseRateLimit({ 'x-chutes-rl-user': 'inf', 'x-chutes-quota-remaining': '7' })).toEqual({ quotaRemaining: 7 });
    expect(parseRateLimit({ 'content-type': 'text/event-stream' })).toBeUndefined();
  });
});

describe('server wait headers', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads Retry-After as seconds from now or an HTTP date, never as an epoch time', () => {
    expect(serverWaitMs({ 'retry-after': '3' }, now)).toBe(3000);
    expect(serverWaitMs({ 'retry-after': '0.5' }, now)).toBe(500);
    expect(serverWaitMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:07 GMT' }, now)).toBe(7000);
    expect(serverWaitMs({ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }, now)).toBe(0);
    expect(serverWaitMs({ 'retry-after': String(now / 1000 + 5) }, now)).toBe((now / 1000 + 5) * 1000);
  });

  it('reads X-RateLimit-Reset as seconds from now, epoch seconds, epoch milliseconds or an HTTP date', () => {
    expect(serverWaitMs({ 'x-ratelimit-reset': '12' }, now)).toBe(12_000);
    expect(serverWaitMs({ 'x-ratelimit-reset': String(now / 1000 + 30) }, now)).toBe(30_000);
    expect(serverWaitMs({ 'x-ratelimit-reset': String(now + 4_000) }, now)).toBe(4_000);
    expect(serverWaitMs({ 'x-ratelimit-reset': 'Thu, 01 Jan 2026 00:00:09 GMT' }, now)).toBe(9_000);
    expect(serverWaitMs({ 'x-ratelimit-reset': String(now - 60_000) }, now)).toBe(0);
    expect(serverWaitMs({ 'x-ratelimit-reset': '12, 12' }, now)).toBe(12_000);
  });

  it('prefers Retry-After, falls back to X-RateLimit-Reset when it is unreadable, and has no answer without either', () => {
    expect(serverWaitMs({ 'retry-after': '2', 'x-ratelimit-reset': '50' }, now)).toBe(2000);
    expect(serverWaitMs({ 'retry-after': 'soon', 'x-ratelimit-reset': '50' }, now)).toBe(50_000);
    expect(serverWaitMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(serverWaitMs({}, now)).toBeUndefined();
  });

  it('gives the same reset time to the rate-limit report as to the retry path', () => {
    for (const reset of ['12', String(now / 1000 + 30), String(now + 4_000), 'Thu, 01 Jan 2026 00:00:09 GMT']) {
      const at = parseRateLimit({ 'x-ratelimit-reset': reset }, now)!.resetAt!;
      expect(Date.parse(at) - now).toBe(serverWaitMs({ 'x-ratelimit-reset': reset }, now));
    }
    expect(parseRateLimit({ 'x-ratelimit-reset': '9'.repeat(20) }, now)).toBeUndefined();
  });
});

describe('retry policy', () => {
  const s = { maxRetries: 3, baseDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 60_000 };

  it('backs off exponentially with jitter between half and all of the step, capped', () => {
    expect(retryDelayMs(1, undefined, s, () => 0)).toBe(250);
    expect(retryDelayMs(1, undefined, s, () => 1)).toBe(500);
    expect(retryDelayMs(3, undefined, s, () => 0.5)).toBe(1500);
    expect(retryDelayMs(10, undefined, s, () => 1)).toBe(8000);
    const seen = new Set(Array.from({ length: 50 }, () => retryDelayMs(2, undefined, s)));
    expect(seen.size).toBeGreaterThan(10);
    for (const d of seen) expect(d! >= 500 && d! <= 1000).toBe(true);
  });

  it("honours the server's wait, and gives up when it is longer than it is worth waiting", () => {
    expect(retryDelayMs(1, 3000, s, () => 0)).toBe(3000);
    expect(retryDelayMs(1, 3000, s, () => 1)).toBe(3250);
    expect(retryDelayMs(1, 0, { ...s, baseDelayMs: 1 }, () => 1)).toBe(1);
    expect(retryDelayMs(1, 61_000, s)).toBeUndefined();
  });

  it('retries connection failures but not timeouts after the request was taken', () => {
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }))).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } }))).toBe(true);
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe(false);
    expect(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'UND_MOCK_ERR_MOCK_NOT_MATCHED' }))).toBe(false);
  });

  it('sleeps, and stops sleeping at once when aborted', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = sleep(10_000, ac.signal);
    setTimeout(() => ac.abort(new Error('stop')), 20);
    await expect(p).rejects.toThrow('stop');
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(sleep(5, new AbortController().signal)).resolves.toBeUndefined();
  });
});
