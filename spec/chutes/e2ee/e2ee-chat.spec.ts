import { createHash } from 'node:crypto';
import { runChat } from '../../../lib/chutes/chat/call';
import { ChutesContext } from '../../../lib/chutes/context';
import { startE2ee, noncePoolOf, E2eeTransport } from '../../../lib/chutes/e2ee/transport';
import type { VerifiedKeys } from '../../../lib/chutes/e2ee/verified-keys';
import { resolveConfigValue } from '../../../lib/config/load';
import type { ChatParams } from '../../../lib/generated/types';
import { Logger } from '../../../lib/log/logger';
import { toRpcError } from '../../../lib/methods/rpc-errors';
import { instanceKeys } from '../../helpers/e2ee-instance';
import { CHUTE, type E2eeMock, MOCK_KEY, MODEL, PLAIN_MODEL, startE2eeMock } from '../../helpers/e2ee-mock';
import { tempHome } from '../../helpers/rpc-process';

let mock: E2eeMock;
beforeAll(async () => {
  mock = await startE2eeMock();
});
afterAll(() => mock.close());
beforeEach(() => {
  mock.faults = {};
  mock.invokes.length = 0;
  mock.discoveries = 0;
});

function context(provider: Record<string, unknown> = {}): { ctx: ChutesContext; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger((l) => lines.push(l));
  log.setLevel('debug');
  const state = resolveConfigValue(
    {
      models: { providers: { chutes: { baseUrl: `${mock.url}/v1`, apiKey: MOCK_KEY, retryBaseDelayMs: 1, e2ee: 'require', ...provider } } },
    },
    {},
  );
  expect(state.problems).toEqual([]);
  const ctx = new ChutesContext({ home: tempHome() }, state, log);
  noncePoolOf(ctx, () => mock.now.ms);
  return { ctx, lines };
}

const ask = (ctx: ChutesContext, content: string, extra: Partial<ChatParams> = {}, deltas?: unknown[]) =>
  runChat(ctx, {
    params: { model: `chutes/${MODEL}`, messages: [{ role: 'user', content }], ...extra },
    streamId: 's',
    signal: new AbortController().signal,
    ...(deltas ? { onDelta: (d) => void deltas.push(d) } : {}),
  });

const failure = (p: Promise<unknown>) =>
  p.then(
    (r) => {
      throw new Error(`expected a failure, got ${JSON.stringify(r)}`);
    },
    (e: unknown) => toRpcError(e) as { code: number; message: string; data: any },
  );

const credential = { method: 'api-key', token: MOCK_KEY, source: 'config' } as never;

describe('E2EE chat through the loopback API + instance', () => {
  it('round-trips a Unicode stream: deltas, reasoning, usage, result.e2ee; the wire never carries the prompt or the model', async () => {
    const { ctx, lines } = context();
    const prompt = 'Grüße, 世界! 🔐 secret-prompt-marker';
    const deltas: any[] = [];
    const r = await ask(ctx, prompt, {}, deltas);
    expect(r.message.content).toBe(`echo: ${prompt}`);
    expect(r.message.reasoning).toBe('thinking…');
    expect(deltas.map((d) => d.content ?? '').join('')).toBe(`echo: ${prompt}`);
    expect(r.usage).toEqual({ promptTokens: 5, completionTokens: 7, totalTokens: 12 });
    expect(r.e2ee).toEqual({ chuteId: CHUTE, instanceId: 'inst-0', attested: false });
    const [seen] = mock.invokes;
    expect(seen!.body!.model).toBe(MODEL);
    expect(seen!.body!.stream).toBe(true);
    expect(seen!.headers['x-e2e-stream']).toBe('true');
    expect(seen!.headers['x-chute-id']).toBe(CHUTE);
    expect(seen!.headers['content-type']).toBe('application/octet-stream');
    for (const secret of [Buffer.from('secret-prompt-marker'), Buffer.from(MODEL), Buffer.from('messages')])
      expect(seen!.raw.includes(secret)).toBe(false);
    // No nonce, key or plaintext in the log, at debug level.
    const log = lines.join('\n');
    expect(log).toContain('e2ee: POST');
    for (const s of [String(seen!.headers['x-e2e-nonce']), 'secret-prompt-marker', 'echo:', MOCK_KEY]) expect(log).not.toContain(s);
  });

  it('round-trips a 1 MB prompt', async () => {
    const { ctx } = context();
    const prompt = 'x'.repeat(1024 * 1024);
    const r = await ask(ctx, prompt);
    expect(r.message.content).toBe(`echo: ${prompt}`);
    expect(mock.invokes[0]!.raw.length).toBeLessThan(64 * 1024); // gzip inside the seal
  });

  it('non-stream: the blob, and the {"e2e", "usage"} envelope of older APIs, with X-E2E-Stream false', async () => {
    const { ctx } = context();
    for (const envelope of [false, true]) {
      mock.faults = { envelope };
      const t = (await startE2ee(ctx, {
        mode: 'require',
        upstreamModel: MODEL,
        credential,
        signal: new AbortController().signal,
      })) as E2eeTransport;
      const res = await t.send(
        { model: MODEL, messages: [{ role: 'user', content: 'ünïcode' }], stream: false },
        credential,
        { authorization: `Bearer ${MOCK_KEY}` },
        { headersMs: 5000, idleMs: 5000 },
      );
      expect(JSON.parse(await res.text(1 << 20, 'fail')).choices[0].message.content).toBe('echo: ünïcode');
      expect(mock.invokes.at(-1)!.headers['x-e2e-stream']).toBe('false');
    }
  });

  it('spends each nonce once, shares one discovery among concurrent calls, and discovers again after 60 s (fake clock)', async () => {
    const { ctx } = context();
    await Promise.all([1, 2, 3, 4, 5].map((i) => ask(ctx, `q${i}`)));
    expect(mock.discoveries).toBe(1);
    const nonces = mock.invokes.map((i) => i.headers['x-e2e-nonce']);
    expect(new Set(nonces).size).toBe(5);
    mock.now.ms += 59_000;
    await ask(ctx, 'still fresh');
    expect(mock.discoveries).toBe(1);
    mock.now.ms += 1_000;
    await ask(ctx, 'expired');
    expect(mock.discoveries).toBe(2);
  });

  it('a 403 nonce refusal drops the pool and retries once with a fresh nonce; a second refusal fails', async () => {
    const { ctx } = context();
    mock.faults = { refuseNonces: 1 };
    expect((await ask(ctx, 'retry me')).message.content).toBe('echo: retry me');
    expect(mock.invokes).toHaveLength(2);
    expect(mock.discoveries).toBe(2);
    expect(mock.invokes[0]!.headers['x-e2e-nonce']).not.toBe(mock.invokes[1]!.headers['x-e2e-nonce']);

    mock.invokes.length = 0;
    mock.faults = { refuseNonces: 100 };
    const e = await failure(ask(ctx, 'never'));
    expect(e.code).toBe(-32003);
    expect(mock.invokes).toHaveLength(2);
  });

  it('refuses failover lists and :latency before anything is sent', async () => {
    const { ctx } = context();
    for (const model of [`${MODEL},acme/Other`, `${MODEL}:latency`]) {
      const e = await failure(ask(ctx, 'x', { model }));
      expect(e.message).toMatch(/E2EE needs one concrete model/);
    }
    expect(mock.discoveries + mock.invokes.length).toBe(0);
  });

  it('prefer falls back to plaintext only without an E2E-capable instance, and says why; require refuses', async () => {
    const { ctx } = context({ e2ee: 'prefer' });
    const r = await ask(ctx, 'x', { model: PLAIN_MODEL });
    expect(r.message.content).toBe('plain answer');
    expect(r.e2ee).toBe(false);
    expect(r.e2eeReason).toMatch(/no E2E-capable instance/);
    const e = await failure(ask(ctx, 'x', { model: PLAIN_MODEL, e2ee: 'require' }));
    expect(e.code).toBe(-32053);
    expect(e.message).toMatch(/nothing was sent/);
    expect(mock.invokes).toHaveLength(0);
    // With e2ee off nothing of E2EE happens and the result has no e2ee field.
    const off = await ask(ctx, 'x', { model: PLAIN_MODEL, e2ee: 'off' });
    expect(off.e2ee).toBeUndefined();
  });

  it('uses the plaintext usage event only when the encrypted stream has none, and says so', async () => {
    const { ctx } = context();
    mock.faults = { plaintextUsageOnly: true };
    const r = await ask(ctx, 'u');
    expect(r.usage.totalTokens).toBe(120);
    expect(r.e2ee).toMatchObject({ unauthenticatedUsage: true });
  });

  const faults: Array<[string, E2eeMock['faults'], RegExp, number?]> = [
    ['a bad tag', { badTagInFrame: 5 }, /E2EE: frame 5 failed authentication/],
    ['a frame before e2e_init', { frameBeforeInit: true }, /E2EE: an encrypted frame arrived before e2e_init/],
    ['no e2e_init', { noInit: true }, /E2EE: the stream ended without e2e_init/],
    ['e2e_error', { e2eError: true }, /E2EE: the instance reported an error \(e2e_error\): boom/],
    ['EOF without the inner [DONE]', { noInnerDone: true }, /ended before \[DONE\]/],
    ['a plaintext outer [DONE] after dropped frames', { outerDoneAfterDrop: true }, /ended before \[DONE\]/],
    ['an answer sealed to the wrong key', { wrongResponseKey: true }, /E2EE: frame 1 failed authentication/],
    [
      '429 instance at capacity',
      { status: { code: 429, detail: 'Instance is at maximum capacity, try again later', times: 9 } },
      /HTTP 429/,
      -32029,
    ],
    ['410 instance gone', { status: { code: 410, detail: 'Instance is no longer active', times: 9 } }, /HTTP 410/, -32053],
    [
      '502 key exchange',
      { status: { code: 502, detail: 'Instance requires key exchange, try a different instance', times: 9 } },
      /HTTP 502/,
      -32050,
    ],
    ['503 chute disabled', { status: { code: 503, detail: 'This chute is currently disabled.', times: 9 } }, /HTTP 503/, -32053],
    [
      '400 with an opaque detail',
      { status: { code: 400, detail: 'QUJD'.repeat(40), times: 9 } },
      /reason is encrypted and cannot be read/,
      -32005,
    ],
  ];
  it.each(faults)('fails clearly on %s, keeping the partial, never showing garbage', async (_name, fault, message, code = -32060) => {
    const { ctx } = context({ maxRetries: 1 });
    mock.faults = fault;
    const deltas: any[] = [];
    const e = await failure(ask(ctx, 'fault', {}, deltas));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    const text = deltas.map((d) => d.content ?? '').join('');
    expect('echo: fault'.startsWith(text)).toBe(true);
    if (fault.noInnerDone) expect(e.data.partial.content).toBe('echo: fault');
  });

  it.each([
    ['a short blob', { shortBlob: true }, /shorter than the 1116 of an empty one/],
    ['a gzip bomb', { gzipBomb: true }, /inflates to more than 64 MiB/],
    ['a blob sealed to the wrong key', { wrongResponseKey: true }, /tag does not verify/],
  ])('non-stream: fails clearly on %s', async (_name, fault, message) => {
    const { ctx } = context();
    const t = (await startE2ee(ctx, {
      mode: 'require',
      upstreamModel: MODEL,
      credential,
      signal: new AbortController().signal,
    })) as E2eeTransport;
    mock.faults = fault;
    const e = await failure(
      t
        .send(
          { model: MODEL, messages: [{ role: 'user', content: 'x' }], stream: false },
          credential,
          { authorization: `Bearer ${MOCK_KEY}` },
          { headersMs: 5000, idleMs: 5000 },
        )
        .catch((err: { error?: unknown }) => Promise.reject(err.error ?? err)),
    );
    expect(e.code).toBe(-32060);
    expect(e.message).toMatch(message);
  });
});

describe('E2EE bound to attestation (a fake VerifiedKeys)', () => {
  const hash = (seed: number) => createHash('sha256').update(instanceKeys(seed).publicKey).digest('hex');
  const start = (ctx: ChutesContext, mode: 'verify' | 'require', keys: VerifiedKeys) =>
    startE2ee(ctx, { mode: 'require', upstreamModel: MODEL, credential, signal: new AbortController().signal, binding: { mode, keys } });

  it('seals only to verified instances and reports attested: true', async () => {
    const { ctx } = context();
    const calls: boolean[] = [];
    const keys: VerifiedKeys = { verifiedKeyHashes: async (_c, o) => (calls.push(o.refresh), new Set([hash(0x12)])) };
    const t = (await start(ctx, 'require', keys)) as E2eeTransport;
    await t.send(
      { model: MODEL, messages: [{ role: 'user', content: 'x' }], stream: false },
      credential,
      { authorization: `Bearer ${MOCK_KEY}` },
      { headersMs: 5000, idleMs: 5000 },
    );
    expect(mock.invokes[0]!.headers['x-instance-id']).toBe('inst-1');
    expect(t.outcome(false)).toEqual({ chuteId: CHUTE, instanceId: 'inst-1', attested: true });
    expect(calls).toEqual([false, true]); // inst-0 was not in the set: re-verified once
  });

  it('refuses a discovery that returns a different key for the verified instance (re-verified once), before sending', async () => {
    const { ctx } = context();
    mock.faults = { swapKeySeed: 0x55 };
    const calls: boolean[] = [];
    const keys: VerifiedKeys = { verifiedKeyHashes: async (_c, o) => (calls.push(o.refresh), new Set([hash(0x11)])) };
    const e = await failure(
      start(ctx, 'verify', { verifiedKeyHashes: async (c, o) => (await keys.verifiedKeyHashes(c, o), new Set([hash(0x11)])) }),
    );
    expect(e.code).toBe(-32061);
    expect(e.message).toMatch(/keys changed since verification/);
    expect(calls).toEqual([false, true]);
    expect(mock.invokes).toHaveLength(0);
  });

  it('require with no verified instance refuses before sending; verify goes on unattested', async () => {
    const none: VerifiedKeys = { verifiedKeyHashes: async () => new Set() };
    const e = await failure(start(context().ctx, 'require', none));
    expect(e.code).toBe(-32061);
    const t = (await start(context().ctx, 'verify', none)) as E2eeTransport;
    expect(t).toBeInstanceOf(E2eeTransport);
    expect(mock.invokes).toHaveLength(0);
  });
});
