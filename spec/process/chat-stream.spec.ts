import type * as http from 'node:http';
import {
  FAKE_KEY,
  chatHome,
  event,
  liveModel,
  startSse,
  startUpstream,
  type Upstream,
  usageChunk,
  wireChunk,
  writeStream,
} from '../helpers/chat-upstream';
import { RpcProcess, type RpcMessage } from '../helpers/rpc-process';

const user = [{ role: 'user', content: 'Hello!' }];

/** The deltas of one stream, checked: seq 0..n-1 with no gap, all before the reply. */
function deltasOf(p: RpcProcess, streamId: string, replyId: string | number): RpcMessage['params'][] {
  const replyAt = p.messages.findIndex((m) => m.id === replyId && m.method === undefined);
  expect(replyAt).toBeGreaterThanOrEqual(0);
  const mine = p.messages.map((m, i) => ({ m, i })).filter(({ m }) => m.method === 'chat.delta' && m.params.streamId === streamId);
  mine.forEach(({ m, i }, k) => {
    expect(m.params.seq).toBe(k);
    expect(i).toBeLessThan(replyAt);
  });
  return mine.map(({ m }) => m.params);
}

describe.each(['ndjson', 'lsp'] as const)('chat.stream over %s', (framing) => {
  let up: Upstream;
  let p: RpcProcess;

  beforeAll(async () => {
    up = await startUpstream();
    up.models.push(liveModel('acme/Priced', false, { prompt: 0.2, completion: 0.8, input_cache_read: 0.02 }));
    p = new RpcProcess({ framing, home: chatHome(up) });
  });
  afterAll(async () => {
    await p.stop();
    await up.close();
    expect(p.schemaProblems).toEqual([]);
    expect(p.malformedOutput).toEqual([]);
    expect(p.stderr + p.stdout.toString()).not.toContain(FAKE_KEY);
  });

  it('streams text as deltas and replies with the assembled message, usage, cost, rate limits and attempts', async () => {
    up.scripts.set('acme/Priced', async (_req, res) => {
      startSse(res, { 'x-chutes-rl-user': '60', 'x-chutes-quota-total': '100', 'x-chutes-quota-used': '1' });
      await writeStream(res, 'acme/Priced', [{ content: 'Hel' }, { content: 'lo, ' }, { content: 'wörld 👋' }], {
        usage: [1000, 500, 200],
      });
    });
    const r = await p.request('chat.stream', {
      model: 'chutes/acme/Priced',
      messages: [{ role: 'developer', content: 'Be brief.' }, ...user],
      maxTokens: 50,
      topP: 0.5,
      stop: 'END',
    });
    expect(r.error).toBeUndefined();
    const deltas = deltasOf(p, String(r.id), r.id!);
    expect(deltas.map((d) => d.content)).toEqual(['Hel', 'lo, ', 'wörld 👋']);
    expect(r.result).toEqual({
      streamId: String(r.id),
      model: 'chutes/acme/Priced',
      message: { role: 'assistant', content: 'Hello, wörld 👋' },
      finishReason: 'stop',
      usage: { promptTokens: 1000, completionTokens: 500, totalTokens: 1500, cachedTokens: 200 },
      // (800 × 0.2 + 200 × 0.02 + 500 × 0.8) / 1M
      cost: { usd: 0.000564 },
      rateLimit: { limit: 60, quotaTotal: 100, quotaUsed: 1, quotaRemaining: 99, invocationId: 'inv-test' },
      attempts: 1,
      requestedModel: 'chutes/acme/Priced',
      invocationId: 'inv-test',
    });
    const sent = up.chats.at(-1)!;
    expect(sent.headers.authorization).toBe(`Bearer ${FAKE_KEY}`);
    expect(sent.headers['x-tee-only']).toBeUndefined();
    expect(sent.json).toMatchObject({
      model: 'acme/Priced',
      stream: true,
      max_tokens: 50,
      top_p: 0.5,
      stop: 'END',
      messages: [{ role: 'system', content: 'Be brief.' }, ...user],
    });
    expect(sent.json.maxTokens).toBeUndefined();
  });

  it('streams two tool calls with arguments split across chunks, and names the stream after streamId', async () => {
    up.scripts.set('acme/Tools', async (_req, res) => {
      startSse(res);
      await writeStream(
        res,
        'acme/Tools',
        [
          { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
          { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
          { tool_calls: [{ index: 1, id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '{"tz":' } }] },
          { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
          { tool_calls: [{ index: 1, function: { arguments: '"UTC"}' } }] },
        ],
        { finish: 'tool_calls', usage: [50, 20] },
      );
    });
    const tools = [
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
      { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } },
    ];
    const r = await p.request('chat.stream', { model: 'acme/Tools', messages: user, tools, toolChoice: 'auto', streamId: 'tools-1' });
    expect(deltasOf(p, 'tools-1', r.id!).map((d) => d.toolCalls)).toEqual([
      [{ index: 0, id: 'call_1', name: 'get_weather' }],
      [{ index: 0, argumentsDelta: '{"city":' }],
      [{ index: 1, id: 'call_2', name: 'get_time', argumentsDelta: '{"tz":' }],
      [{ index: 0, argumentsDelta: '"Paris"}' }],
      [{ index: 1, argumentsDelta: '"UTC"}' }],
    ]);
    expect(r.result.streamId).toBe('tools-1');
    expect(r.result.finishReason).toBe('tool_calls');
    expect(r.result.message).toEqual({
      role: 'assistant',
      content: '',
      toolCalls: [
        { id: 'call_1', type: 'function', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { id: 'call_2', type: 'function', name: 'get_time', arguments: '{"tz":"UTC"}' },
      ],
    });
    expect(up.chats.at(-1)!.json).toMatchObject({ tools, tool_choice: 'auto' });
  });

  it.each(['reasoning_content', 'reasoning'])('streams reasoning sent as delta.%s', async (field) => {
    const model = `acme/Reason-${field}`;
    up.scripts.set(model, async (_req, res) => {
      startSse(res);
      await writeStream(res, model, [{ [field]: 'Think' }, { [field]: 'ing.' }, { content: 'Done.' }], { usage: [5, 6] });
    });
    const r = await p.request('chat.stream', { model, messages: user, reasoningEffort: 'high', thinking: true });
    expect(deltasOf(p, String(r.id), r.id!)).toEqual([
      { streamId: String(r.id), seq: 0, reasoning: 'Think' },
      { streamId: String(r.id), seq: 1, reasoning: 'ing.' },
      { streamId: String(r.id), seq: 2, content: 'Done.' },
    ]);
    expect(r.result.message).toEqual({ role: 'assistant', content: 'Done.', reasoning: 'Thinking.' });
    expect(r.result.usage).toEqual({ promptTokens: 5, completionTokens: 6, totalTokens: 11 });
    const sent = up.chats.at(-1)!;
    expect(sent.json.reasoning_effort).toBe('high');
    expect(sent.headers['x-enable-thinking']).toBe('true');
  });

  it('answers chat.complete with the same result and no notifications', async () => {
    const before = p.notifications.length;
    const r = await p.request('chat.complete', { model: 'acme/Priced', messages: user });
    expect(r.result.message.content).toBe('Hello, wörld 👋');
    expect(r.result.cost).toEqual({ usd: 0.000564 });
    expect(p.notifications.length).toBe(before);
  });

  it('retries a stream that broke before its first delta, and does not retry one that broke after', async () => {
    let n = 0;
    up.scripts.set('acme/EarlyDrop', async (_req, res) => {
      startSse(res);
      if (n++ === 0) {
        res.write(event(wireChunk('acme/EarlyDrop', { role: 'assistant', content: '' })));
        await new Promise((r) => setTimeout(r, 20));
        res.socket!.destroy();
        return;
      }
      await writeStream(res, 'acme/EarlyDrop', [{ content: 'second try' }]);
    });
    const ok = await p.request('chat.stream', { model: 'acme/EarlyDrop', messages: user });
    expect(ok.result.message.content).toBe('second try');
    expect(ok.result.attempts).toBe(2);
    expect(deltasOf(p, String(ok.id), ok.id!)).toHaveLength(1);

    const seen = up.chats.length;
    up.scripts.set('acme/LateDrop', async (_req, res) => {
      startSse(res);
      res.write(event(wireChunk('acme/LateDrop', { content: 'Once upon' })));
      res.write(event(wireChunk('acme/LateDrop', { content: ' a time' })));
      await new Promise((r) => setTimeout(r, 30));
      res.socket!.destroy();
    });
    const r = await p.request('chat.stream', { model: 'acme/LateDrop', messages: user });
    expect(r.error?.code).toBe(-32060);
    expect(r.error?.data).toMatchObject({
      type: 'network_error',
      retryable: true,
      attempts: 1,
      partial: { role: 'assistant', content: 'Once upon a time' },
    });
    expect(r.error?.message).toMatch(/before \[DONE\]/);
    expect(deltasOf(p, String(r.id), r.id!).map((d) => d.content)).toEqual(['Once upon', ' a time']);
    expect(up.chats.length).toBe(seen + 1);
  });

  it('fails a stream that ends cleanly but without [DONE], keeping the partial message', async () => {
    up.scripts.set('acme/NoDone', async (_req, res) => {
      startSse(res);
      await writeStream(res, 'acme/NoDone', [{ content: 'cut' }], { done: false });
    });
    const r = await p.request('chat.stream', { model: 'acme/NoDone', messages: user });
    expect(r.error?.code).toBe(-32060);
    expect(r.error?.data.partial).toEqual({ role: 'assistant', content: 'cut' });
  });

  it('retries, then fails, an answer that is no event stream at all, saying what the server sent', async () => {
    let calls = 0;
    up.scripts.set('acme/Html', (_req, res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><title>Blocked by proxy</title></html>\n');
    });
    const r = await p.request('chat.stream', { model: 'acme/Html', messages: user });
    expect(r.error?.code).toBe(-32060);
    expect(r.error?.message).toContain('the server sent: <html><title>Blocked by proxy</title></html>');
    expect(r.error?.data.attempts).toBe(4);
    expect(r.error?.data.partial).toBeUndefined();
    expect(calls).toBe(4);
  });

  it('fails on a raw mid-stream error (no data: prefix) with the upstream detail and the partial message', async () => {
    up.scripts.set('acme/RawError', async (_req, res) => {
      startSse(res);
      res.write(event(wireChunk('acme/RawError', { role: 'assistant', content: '' })));
      res.write(event(wireChunk('acme/RawError', { content: 'Half' })));
      await new Promise((r) => setTimeout(r, 10));
      res.end('{"error":"Unhandled exception during response stream: CUDA error"}');
    });
    const r = await p.request('chat.stream', { model: 'acme/RawError', messages: user });
    expect(r.error?.code).toBe(-32050);
    expect(r.error?.data).toMatchObject({ type: 'server_error', attempts: 1, partial: { role: 'assistant', content: 'Half' } });
    expect(r.error?.data.message).toContain('Unhandled exception during response stream: CUDA error');
  });

  it('fails on a data: {"error": ...} event, mapping its code', async () => {
    up.scripts.set('acme/DataError', async (_req, res) => {
      startSse(res);
      res.write(event(wireChunk('acme/DataError', { content: 'So' })));
      res.end(event({ error: { object: 'error', message: 'maximum context length exceeded', type: 'BadRequestError', code: 400 } }));
    });
    const r = await p.request('chat.stream', { model: 'acme/DataError', messages: user });
    expect(r.error?.code).toBe(-32005);
    expect(r.error?.data).toMatchObject({ type: 'bad_request', httpStatus: 400, partial: { content: 'So' } });
    expect(r.error?.data.message).toContain('maximum context length exceeded');
  });

  it('retries 429 twice then succeeds, honouring Retry-After', async () => {
    const times: number[] = [];
    up.scripts.set('acme/Busy', async (_req, res) => {
      times.push(Date.now());
      if (times.length === 1) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0.3' });
        res.end(JSON.stringify({ detail: 'Infrastructure is at maximum capacity, try again later' }));
      } else if (times.length === 2) {
        res.writeHead(429, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: 'Infrastructure is at maximum capacity, try again later' }));
      } else {
        startSse(res);
        await writeStream(res, 'acme/Busy', [{ content: 'finally' }]);
      }
    });
    const r = await p.request('chat.stream', { model: 'acme/Busy', messages: user });
    expect(r.result.message.content).toBe('finally');
    expect(r.result.attempts).toBe(3);
    expect(times).toHaveLength(3);
    // Retry-After: 0.3 s was waited; the second retry used the (1 ms) back-off.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(290);
    expect(times[2]! - times[1]!).toBeLessThan(250);
  });

  const statuses: Array<[number, number, string, boolean, RegExp, unknown]> = [
    [400, -32005, 'bad_request', false, /Fix the request/, { detail: 'Invalid request JSON: bad' }],
    [401, -32001, 'unauthorized', false, /re-run onboarding/, { detail: "Can't find a user with that api key in our db :(" }],
    [
      402,
      -32002,
      'payment_required',
      false,
      /balance|quota/,
      { detail: { message: 'quota exceeded', quota_reset_timestamp: '2026-01-02T00:00:00Z' } },
    ],
    [403, -32003, 'forbidden', false, /scopes/, { detail: 'Token does not have permission for this resource' }],
    [404, -32004, 'model_not_found', false, /models/, { detail: 'model not found: acme/Status-404' }],
    [426, -32061, 'tee_required', false, /TEE/, { detail: 'This model is not running in a TEE' }],
    [429, -32029, 'rate_limited', true, /Back off/, { error: { message: 'Too many requests', type: 'rate_limit' } }],
    [500, -32050, 'server_error', true, /Retry later/, { detail: 'exhausted all available targets to no avail' }],
    [503, -32053, 'model_unavailable', true, /another model|wait/, { detail: 'No instances available (yet) for chute_id=abc' }],
  ];
  it.each(statuses)('maps HTTP %i to %i (%s), retrying only what is worth it', async (status, code, type, retried, resolution, body) => {
    const model = `acme/Status-${status}`;
    let calls = 0;
    up.scripts.set(model, (_req, res) => {
      calls++;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    });
    // A cold chute's 503 is warmed up first (spec/process/chat-warmup.spec.ts): here only the retries.
    const r = await p.request('chat.stream', { model, messages: user, ...(status === 503 ? { warmup: false } : {}) });
    expect(r.error?.code).toBe(code);
    const attempts = retried ? 4 : 1;
    expect(r.error?.data).toEqual({
      type,
      httpStatus: status,
      message: expect.stringContaining(`HTTP ${status}`),
      retryable: retried,
      resolution: expect.stringMatching(resolution),
      attempts,
      // A 402 with quota_reset_timestamp says when the quota resets.
      ...(status === 402 ? { reason: 'quota_exceeded', resetAt: '2026-01-02T00:00:00.000Z' } : {}),
    });
    const detail = body as { detail?: unknown; error?: { message: string } };
    const text =
      typeof detail.detail === 'string' ? detail.detail : ((detail.detail as { message?: string })?.message ?? detail.error?.message);
    expect(r.error?.data.message).toContain(text);
    expect(calls).toBe(attempts);
  });

  it('cancels on $/cancelRequest: the upstream connection closes at once and the reply is -32800 with the partial message', async () => {
    let closed: Promise<number> | undefined;
    up.scripts.set('acme/Slow', (req, res) => {
      closed = new Promise((resolve) => req.socket.once('close', () => resolve(Date.now())));
      startSse(res);
      res.write(event(wireChunk('acme/Slow', { content: 'Let me think' })));
      // ...and nothing more until the client goes away.
    });
    const id = 'cancel-me';
    const reply = p.request('chat.stream', { model: 'acme/Slow', messages: user }, id);
    await p.next((m) => m.method === 'chat.delta' && m.params.streamId === id);
    const cancelledAt = Date.now();
    p.notify('$/cancelRequest', { id });
    const r = await reply;
    expect(r.error?.code).toBe(-32800);
    expect(r.error?.data.partial).toEqual({ role: 'assistant', content: 'Let me think' });
    const at = await closed!;
    expect(at - cancelledAt).toBeLessThan(1000);
  });

  it('keeps 64 concurrent streams apart: each one its own contiguous seq and its own text', async () => {
    // The streams start together (or after 1 s) and advance in paced rounds, so they overlap.
    let arrived = 0;
    let go: () => void = () => undefined;
    const allThere = new Promise<void>((resolve) => {
      go = resolve;
      setTimeout(resolve, 1000);
    });
    up.scripts.set('acme/Many', async (req, res) => {
      const k = req.json.messages[0].content as string;
      startSse(res);
      if (++arrived === 64) go();
      await allThere;
      for (let i = 0; i < 20; i++) {
        res.write(event(wireChunk('acme/Many', { content: `${k}:${i};` })));
        await new Promise((r) => setTimeout(r, 2));
      }
      res.write(event(usageChunk('acme/Many', 1, 20)));
      res.end(event('[DONE]'));
    });
    const ids = Array.from({ length: 64 }, (_, k) => `many-${k}`);
    const replies = await Promise.all(
      ids.map((id, k) =>
        p.request(
          'chat.stream',
          { model: 'acme/Many', messages: [{ role: 'user', content: `s${k}` }], ...(k % 2 ? { streamId: `named-${k}` } : {}) },
          id,
        ),
      ),
    );
    const expected = (k: number) => Array.from({ length: 20 }, (_, i) => `s${k}:${i};`);
    replies.forEach((r, k) => {
      const streamId = k % 2 ? `named-${k}` : ids[k]!;
      expect(r.result.streamId).toBe(streamId);
      expect(deltasOf(p, streamId, ids[k]!).map((d) => d.content)).toEqual(expected(k));
      expect(r.result.message.content).toBe(expected(k).join(''));
    });
    const order = p.messages
      .filter((m) => m.method === 'chat.delta' && String(m.params.streamId).match(/^(many|named)-/))
      .map((m) => m.params.streamId);
    // They really were interleaved on the one connection: one after the other would switch 63
    // times. How often they switch depends on scheduling (a loaded machine delivers in bursts), so
    // the bound asks for at least twice the sequential count.
    expect(order).toHaveLength(64 * 20);
    expect(order.filter((s, i, a) => i > 0 && s !== a[i - 1]).length).toBeGreaterThan(2 * 63);
  });
});

describe('chat.stream before sending', () => {
  let up: Upstream;
  beforeAll(async () => {
    up = await startUpstream();
    up.models.push(liveModel('acme/Open', false), liveModel('acme/Sealed-TEE', true));
    const ok: (model: string) => (req: unknown, res: http.ServerResponse) => Promise<void> = (model) => async (_req, res) => {
      startSse(res);
      await writeStream(res, model, [{ content: 'ok' }]);
    };
    up.scripts.set('acme/Open', ok('acme/Open'));
    up.scripts.set('acme/Sealed-TEE', ok('acme/Sealed-TEE'));
  });
  afterAll(() => up.close());

  it('with teeOnly, refuses a model known not to be TEE with -32061 before sending, and sends X-TEE-Only for the others', async () => {
    const p = new RpcProcess({ home: chatHome(up, { teeOnly: true }) });
    try {
      const refused = await p.request('chat.stream', { model: 'chutes/acme/Open', messages: user });
      expect(refused.error?.code).toBe(-32061);
      expect(refused.error?.data).toMatchObject({ type: 'tee_required', resolution: expect.stringMatching(/TEE model/) });
      expect(up.chats).toHaveLength(0);
      const ok = await p.request('chat.stream', { model: 'acme/Sealed-TEE', messages: user });
      expect(ok.result.message.content).toBe('ok');
      expect(up.chats.at(-1)!.headers['x-tee-only']).toBe('true');
      // The per-call override turns it off.
      const off = await p.request('chat.stream', { model: 'acme/Open', messages: user, teeOnly: false });
      expect(off.result.message.content).toBe('ok');
      expect(up.chats.at(-1)!.headers['x-tee-only']).toBeUndefined();
      expect(p.schemaProblems).toEqual([]);
    } finally {
      await p.stop();
    }
  });

  it('without a credential, answers -32010 with how to log in, and sends nothing', async () => {
    const before = up.chats.length;
    const home = chatHome(up, { apiKey: undefined });
    const p = new RpcProcess({ home });
    try {
      const r = await p.request('chat.stream', { model: 'acme/Open', messages: user });
      expect(r.error?.code).toBe(-32010);
      expect(r.error?.data).toMatchObject({ type: 'auth_required', resolution: expect.stringMatching(/onboard|login|CHUTES_API_KEY/) });
      expect(up.chats.length).toBe(before);
    } finally {
      await p.stop();
    }
  });

  it('refuses params that fail the schema with -32602', async () => {
    const p = new RpcProcess({ home: chatHome(up) });
    try {
      const r = await p.request('chat.stream', { messages: [], maxTokens: 0 });
      expect(r.error?.code).toBe(-32602);
      expect(r.error?.data.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ path: '/messages' }), expect.objectContaining({ path: '/maxTokens' })]),
      );
    } finally {
      await p.stop();
    }
  });
});
