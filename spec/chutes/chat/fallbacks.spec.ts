import { runChat } from '../../../lib/chutes/chat/call';
import { ExhaustionMarks } from '../../../lib/chutes/chat/exhaustion-marks';
import { fallsBack, modelChain } from '../../../lib/chutes/chat/fallbacks';
import { ChatParamsRefused } from '../../../lib/chutes/chat/params-refused';
import { ChutesContext } from '../../../lib/chutes/context';
import { ChutesError } from '../../../lib/chutes/errors';
import { resolveConfigValue } from '../../../lib/config/load';
import type { ChatMessage, ChatParams, ChatStatus } from '../../../lib/generated/types';
import { Logger } from '../../../lib/log/logger';
import { toRpcError } from '../../../lib/methods/rpc-errors';
import type { RpcError } from '../../../lib/server/rpc-error';
import { event, liveModel, startSse, startUpstream, type Upstream, wireChunk, writeStream } from '../../helpers/chat-upstream';
import { tempHome } from '../../helpers/rpc-process';

const user: [ChatMessage] = [{ role: 'user', content: 'hi' }];

describe('fallsBack', () => {
  it.each([
    ['payment_required', true],
    ['model_not_found', true],
    ['rate_limited', true],
    ['model_unavailable', true],
    ['tee_required', true],
    ['bad_request', false],
    ['unauthorized', false],
    ['forbidden', false],
    ['auth_required', false],
    ['network_error', false],
    ['server_error', false],
  ] as const)('%s: %s', (type, expected) => {
    expect(fallsBack(new ChutesError(type, { message: 'x' }))).toBe(expected);
  });

  it('never once something of the answer was produced', () => {
    const partial = { role: 'assistant' as const, content: 'Hel' };
    expect(fallsBack(new ChutesError('model_unavailable', { message: 'x', partial }))).toBe(false);
  });
});

describe('modelChain', () => {
  const config = { defaultModel: 'chutes/acme/Default', fallbacks: ['chutes/acme/C1', 'acme/C2'] };
  const names = (params: ChatParams, warn = jest.fn()) => modelChain(params, config, warn).map((e) => e.name);

  it('is the model, then the per-call fallbacks, else the config ones; [] turns them off; a model is tried once', () => {
    expect(names({ messages: user })).toEqual(['chutes/acme/Default', 'chutes/acme/C1', 'chutes/acme/C2']);
    expect(names({ model: 'acme/M', messages: user, fallbacks: ['acme/F', 'chutes/acme/M', 'acme/F:THINKING'] })).toEqual([
      'chutes/acme/M',
      'chutes/acme/F',
    ]);
    expect(names({ model: 'acme/M', messages: user, fallbacks: [] })).toEqual(['chutes/acme/M']);
    const chain = modelChain({ model: ['acme/A', 'acme/B:latency'], messages: user, fallbacks: ['acme/F'] }, config, jest.fn());
    expect(chain.map((e) => [e.name, e.requested, e.params.model])).toEqual([
      ['chutes/acme/A,chutes/acme/B', 'chutes/acme/A,chutes/acme/B:latency', ['acme/A', 'acme/B:latency']],
      ['chutes/acme/F', 'chutes/acme/F', 'acme/F'],
    ]);
  });

  it('refuses a per-call entry that is no model selector, and leaves a bad config entry out with a warning', () => {
    let thrown: unknown;
    try {
      names({ messages: user, fallbacks: ['acme/A', 'acme/B,,acme/C'] });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ChatParamsRefused);
    expect(thrown).toMatchObject({ path: '/fallbacks/1', problem: expect.stringMatching(/empty entry/) });

    const warn = jest.fn();
    expect(modelChain({ messages: user }, { defaultModel: 'acme/D', fallbacks: ['a,,b', 'acme/E'] }, warn).map((e) => e.name)).toEqual([
      'chutes/acme/D',
      'chutes/acme/E',
    ]);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/agents\.defaults\.model\.fallbacks: .*empty entry.*left out/));
  });
});

async function failure(p: Promise<unknown>): Promise<RpcError & { data: any }> {
  return p.then(
    (r) => {
      throw new Error(`expected a failure, got ${JSON.stringify(r)}`);
    },
    (e: unknown) => toRpcError(e) as RpcError & { data: any },
  );
}

describe('runChat with fallbacks (loopback upstream)', () => {
  let up: Upstream;
  let now: number;
  let app: ChutesContext;
  let statuses: ChatStatus[];
  beforeAll(async () => {
    up = await startUpstream();
  });
  afterAll(() => up.close());
  afterEach(() => app?.close());

  function makeApp(provider: Record<string, unknown> = {}, fallbacks?: string[]): void {
    const log = new Logger(() => undefined);
    const state = resolveConfigValue(
      {
        agents: { defaults: { model: { primary: 'acme/Default', ...(fallbacks ? { fallbacks } : {}) } } },
        models: { providers: { chutes: { baseUrl: `${up.url}/v1`, apiKey: 'cpk_test_fake_key', retryBaseDelayMs: 1, ...provider } } },
      },
      {},
    );
    expect(state.problems).toEqual([]);
    now = Date.now();
    app = new ChutesContext({ home: tempHome() }, state, log, { exhaustion: new ExhaustionMarks(() => now) });
    statuses = [];
  }

  const chat = (params: Partial<ChatParams>, signal = new AbortController().signal) =>
    runChat(app, { params: { messages: user, ...params }, streamId: 's', signal, onStatus: (s) => void statuses.push(s) });
  const requested = () => up.chats.map((r) => r.json.model as string);
  const answers = (model: string, text = `from ${model}`) =>
    up.scripts.set(model, async (_req, res) => {
      startSse(res);
      await writeStream(res, model, [{ content: text }]);
    });
  const refuses = (model: string, status: number, detail: unknown) =>
    up.scripts.set(model, (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail }));
    });
  beforeEach(() => {
    up.chats.length = 0;
    up.scripts.clear();
    up.routes.clear();
    up.models.length = 0;
  });

  it('after a quota 402, answers from the fallback: model is the fallback, requestedModel the primary, fallbackReasons the 402', async () => {
    makeApp();
    refuses('acme/Broke', 402, { message: 'Quota exceeded for today', quota_reset_timestamp: '2099-01-01T00:00:00+00:00' });
    answers('acme/Spare');
    const r = await chat({ model: 'acme/Broke', fallbacks: ['chutes/acme/Spare'] });
    expect(r).toMatchObject({ model: 'chutes/acme/Spare', requestedModel: 'chutes/acme/Broke', attempts: 2 });
    expect(r.message.content).toBe('from acme/Spare');
    expect(r.fallbackReasons).toEqual([
      {
        model: 'chutes/acme/Broke',
        type: 'payment_required',
        code: -32002,
        httpStatus: 402,
        reason: 'quota_exceeded',
        resetAt: '2099-01-01T00:00:00.000Z',
        message: expect.stringMatching(/^HTTP 402: Quota exceeded/),
      },
    ]);
    expect(statuses).toEqual([
      {
        streamId: 's',
        phase: 'fallback',
        model: 'chutes/acme/Spare',
        reason: 'payment_required',
        message: expect.stringMatching(
          /^chutes\/acme\/Broke failed: HTTP 402: Quota exceeded.*; trying chutes\/acme\/Spare \(fallback 1 of 1\)$/,
        ),
      },
    ]);
    expect(requested()).toEqual(['acme/Broke', 'acme/Spare']);
  });

  it('uses agents.defaults.model.fallbacks; a per-call list wins; fallbacks: [] turns them off', async () => {
    makeApp({}, ['acme/Cfg1', 'acme/Cfg2']);
    refuses('acme/Default', 404, 'model not found: acme/Default');
    answers('acme/Cfg2');
    answers('acme/Call');
    // acme/Cfg1 has no script: the loopback answers 404 for it too.
    const r = await chat({});
    expect(r.model).toBe('chutes/acme/Cfg2');
    expect(r.fallbackReasons!.map((f) => [f.model, f.type])).toEqual([
      ['chutes/acme/Default', 'model_not_found'],
      ['chutes/acme/Cfg1', 'model_not_found'],
    ]);
    expect(statuses.map((s) => s.message)).toEqual([
      expect.stringMatching(/trying chutes\/acme\/Cfg1 \(fallback 1 of 2\)$/),
      expect.stringMatching(/trying chutes\/acme\/Cfg2 \(fallback 2 of 2\)$/),
    ]);

    expect((await chat({ fallbacks: ['acme/Call'] })).model).toBe('chutes/acme/Call');

    up.chats.length = 0;
    const e = await failure(chat({ fallbacks: [] }));
    expect(e.code).toBe(-32004);
    expect(e.data.fallbackReasons).toBeUndefined();
    expect(requested()).toEqual(['acme/Default']);
  });

  it('falls back on a 429 the retries could not outlast, a 503 after retries, and a 503 whose warm-up failed', async () => {
    makeApp({ maxRetries: 1 });
    refuses('acme/Busy', 429, 'Infrastructure is at maximum capacity, try again later');
    up.scripts.set('acme/Cold', (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: "No instances available (yet) for chute_id='1234'" }));
    });
    up.routes.set('GET /chutes/warmup/acme/Cold', (_req, res) => {
      res.writeHead(402, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: 'Account balance is $0.00' }));
    });
    refuses('acme/Down', 503, 'This chute is currently disabled.');
    answers('acme/Ok');
    const r = await chat({ model: 'acme/Busy', fallbacks: ['acme/Cold', 'acme/Down', 'acme/Ok'] });
    expect(r.model).toBe('chutes/acme/Ok');
    expect(r.fallbackReasons!.map((f) => [f.model, f.type, f.httpStatus])).toEqual([
      ['chutes/acme/Busy', 'rate_limited', 429],
      ['chutes/acme/Cold', 'model_unavailable', 503],
      ['chutes/acme/Down', 'model_unavailable', 503],
    ]);
    expect(r.fallbackReasons![1]!.message).toMatch(/warm-up failed/);
    // 2 (Busy: one retry) + 1 (Cold: warm-up failed, no retry) + 2 (Down: one retry) + 1.
    expect(r.attempts).toBe(6);
    expect(requested()).toEqual(['acme/Busy', 'acme/Busy', 'acme/Cold', 'acme/Down', 'acme/Down', 'acme/Ok']);
  });

  it('falls back when teeOnly refuses the model (before sending it) or the model it was served by (before any delta)', async () => {
    makeApp({ teeOnly: true });
    up.models.push(
      liveModel('acme/Plain', false),
      liveModel('acme/Tee', true),
      liveModel('acme/Tee2', true),
      liveModel('acme/Other', false),
    );
    answers('acme/Tee2');
    // Asked for a TEE model, served by one that is not.
    up.scripts.set('acme/Tee', async (_req, res) => {
      startSse(res);
      await writeStream(res, 'acme/Other', [{ content: 'not private' }]);
    });
    const r = await chat({ model: 'acme/Plain', fallbacks: ['acme/Tee', 'acme/Tee2'] });
    expect(r.model).toBe('chutes/acme/Tee2');
    expect(r.fallbackReasons!.map((f) => [f.model, f.type, f.code])).toEqual([
      ['chutes/acme/Plain', 'tee_required', -32061],
      ['chutes/acme/Tee', 'tee_required', -32061],
    ]);
    expect(requested()).toEqual(['acme/Tee', 'acme/Tee2']);
  });

  it('does not fall back on a bad request, a refused credential, or a cancellation', async () => {
    makeApp();
    answers('acme/Ok');
    refuses('acme/Bad', 400, 'Invalid request: nope');
    let e = await failure(chat({ model: 'acme/Bad', fallbacks: ['acme/Ok'] }));
    expect(e.data).toMatchObject({ type: 'bad_request', httpStatus: 400 });
    expect(e.data.fallbackReasons).toBeUndefined();

    refuses('acme/Key', 401, 'Invalid token or user not found');
    e = await failure(chat({ model: 'acme/Key', fallbacks: ['acme/Ok'] }));
    expect(e.data.type).toBe('unauthorized');

    up.scripts.set('acme/Hang', () => undefined);
    const ac = new AbortController();
    const p = chat({ model: 'acme/Hang', fallbacks: ['acme/Ok'] }, ac.signal);
    setTimeout(() => ac.abort(new Error('cancelled')), 100);
    e = await failure(p);
    expect(e.code).toBe(-32800);
    expect(requested()).not.toContain('acme/Ok');
  });

  it('never falls back after the first delta: the partial answer is kept and the call fails', async () => {
    makeApp();
    answers('acme/Ok');
    up.scripts.set('acme/Breaks', (_req, res) => {
      startSse(res);
      res.write(event(wireChunk('acme/Breaks', { content: 'Half an ans' })));
      // An error of a type that falls back (503) once output started: the partial stays, nothing more is tried.
      res.end(event({ error: { message: 'engine overloaded', code: 503 } }));
    });
    const deltas: string[] = [];
    const e = await failure(
      runChat(app, {
        params: { model: 'acme/Breaks', messages: user, fallbacks: ['acme/Ok'] },
        streamId: 's',
        signal: new AbortController().signal,
        onDelta: (d) => void deltas.push(d.content ?? ''),
      }),
    );
    expect(deltas.join('')).toBe('Half an ans');
    expect(e.data).toMatchObject({ type: 'model_unavailable', partial: { role: 'assistant', content: 'Half an ans' } });
    expect(e.data.fallbackReasons).toBeUndefined();
    expect(requested()).toEqual(['acme/Breaks']);
  });

  it("when every model fails, ends with the primary's error, listing every model's reason", async () => {
    makeApp();
    refuses('acme/P', 402, 'Subscription usage cap exceeded');
    const e = await failure(chat({ model: 'acme/P', fallbacks: ['acme/Gone1', 'acme/Gone2'] }));
    expect(e.code).toBe(-32002);
    expect(e.data).toMatchObject({ type: 'payment_required', reason: 'usage_cap', attempts: 3 });
    expect(e.message).toMatch(
      /^HTTP 402: Subscription usage cap exceeded \(the fallbacks chutes\/acme\/Gone1, chutes\/acme\/Gone2 failed too\)$/,
    );
    expect(e.data.fallbackReasons.map((f: any) => [f.model, f.type])).toEqual([
      ['chutes/acme/P', 'payment_required'],
      ['chutes/acme/Gone1', 'model_not_found'],
      ['chutes/acme/Gone2', 'model_not_found'],
    ]);
  });

  it('a fallback that ends the chain (a bad request) ends the call with its error and the reasons so far', async () => {
    makeApp();
    refuses('acme/P', 404, 'model not found: acme/P');
    refuses('acme/Bad', 400, 'Invalid request: nope');
    const e = await failure(chat({ model: 'acme/P', fallbacks: ['acme/Bad', 'acme/Never'] }));
    expect(e.data).toMatchObject({ type: 'bad_request', attempts: 2 });
    expect(e.data.fallbackReasons.map((f: any) => f.model)).toEqual(['chutes/acme/P']);
    expect(requested()).toEqual(['acme/P', 'acme/Bad']);
  });

  it('a daily-limit 429 marks the model: later calls skip it without a request until its reset time, then ask again', async () => {
    makeApp();
    const daily = () =>
      refuses(
        'acme/Free',
        429,
        'Free models limit reached for today - maintain >= $10 balance or upgrade subscription to increase limits.',
      );
    daily();
    answers('acme/Paid');
    const first = await chat({ model: 'acme/Free', fallbacks: ['acme/Paid'] });
    expect(first.model).toBe('chutes/acme/Paid');
    expect(first.fallbackReasons![0]).toMatchObject({ type: 'rate_limited', reason: 'daily_limit', resetAt: expect.any(String) });
    expect(first.fallbackReasons![0]!.skipped).toBeUndefined();
    const resetAt = first.fallbackReasons![0]!.resetAt!;

    up.chats.length = 0;
    statuses = [];
    const second = await chat({ model: 'acme/Free', fallbacks: ['acme/Paid'] });
    expect(second).toMatchObject({ model: 'chutes/acme/Paid', requestedModel: 'chutes/acme/Free', attempts: 1 });
    expect(second.fallbackReasons).toEqual([
      expect.objectContaining({ model: 'chutes/acme/Free', type: 'rate_limited', reason: 'daily_limit', resetAt, skipped: true }),
    ]);
    expect(statuses[0]!.message).toBe(
      `chutes/acme/Free is exhausted until ${resetAt} (daily_limit); trying chutes/acme/Paid (fallback 1 of 1)`,
    );
    expect(requested()).toEqual(['acme/Paid']);

    // No fallback left: it fails at once, as the 429 did, saying when it resets.
    const e = await failure(chat({ model: 'acme/Free', fallbacks: [] }));
    expect(e.code).toBe(-32029);
    expect(e.data).toMatchObject({ type: 'rate_limited', httpStatus: 429, reason: 'daily_limit', resetAt, retryable: false });
    expect(e.data.resolution).toContain(`It resets at ${resetAt}`);
    expect(e.data.attempts).toBeUndefined();
    expect(requested()).toEqual(['acme/Paid']);

    // Past the reset time it is asked again.
    now = Date.parse(resetAt) + 1;
    answers('acme/Free');
    expect((await chat({ model: 'acme/Free', fallbacks: [] })).model).toBe('chutes/acme/Free');
    expect(requested()).toEqual(['acme/Paid', 'acme/Free']);
  });

  it("the daily free-model limit is the account's: other free models are skipped too, paid ones are asked", async () => {
    makeApp();
    const free = { prompt: 0, completion: 0, input_cache_read: 0 };
    up.models.push(liveModel('acme/Free1', false, free), liveModel('acme/Free2', false, free), liveModel('acme/Paid', false));
    refuses('acme/Free1', 429, 'Free models limit reached for today - maintain >= $10 balance or upgrade subscription to increase limits.');
    answers('acme/Free2');
    answers('acme/Paid');
    const r = await chat({ model: 'acme/Free1', fallbacks: ['acme/Free2', 'acme/Paid'] });
    expect(r.model).toBe('chutes/acme/Paid');
    expect(r.fallbackReasons!.map((f) => [f.model, f.skipped ?? false])).toEqual([
      ['chutes/acme/Free1', false],
      ['chutes/acme/Free2', true],
    ]);
    expect(r.fallbackReasons![1]!.message).toMatch(/daily free-model limit of this account/);
    expect(requested()).toEqual(['acme/Free1', 'acme/Paid']);
  });

  it('a quota 402 with a reset time marks the model the same way', async () => {
    makeApp();
    refuses('acme/Q', 402, { message: 'Quota exceeded for today', quota_reset_timestamp: '2099-01-01T00:00:00+00:00' });
    await failure(chat({ model: 'acme/Q' }));
    const e = await failure(chat({ model: 'acme/Q' }));
    expect(e.data).toMatchObject({ type: 'payment_required', reason: 'quota_exceeded', httpStatus: 402, retryable: false });
    expect(e.data.resetAt).toBe('2099-01-01T00:00:00.000Z');
    expect(requested()).toEqual(['acme/Q']);
  });
});
