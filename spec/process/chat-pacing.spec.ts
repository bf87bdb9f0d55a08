import { chatHome, startSse, startUpstream, type Upstream, writeStream } from '../helpers/chat-upstream';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeConfig } from '../helpers/loopback';
import { ROOT, RpcProcess, tempHome } from '../helpers/rpc-process';

const user = [{ role: 'user', content: 'hi' }];
/** Test-only: the pacing window, shortened from 60 s so that a minute's budget is spent and refilled in seconds. */
const WINDOW_MS = 2_000;
const env = { CHUTES_RPC_PACING_WINDOW_MS: String(WINDOW_MS) };

/** The most arrivals any window holds. */
function busiest(arrivals: number[]): number {
  const sorted = [...arrivals].sort((a, b) => a - b);
  let most = 0;
  for (const end of sorted) most = Math.max(most, sorted.filter((t) => t > end - WINDOW_MS && t <= end).length);
  return most;
}

describe('pacing chat requests across the processes of one home', () => {
  let up: Upstream;
  const arrivals = new Map<string, number[]>();
  const processes: RpcProcess[] = [];
  beforeAll(async () => {
    up = await startUpstream();
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await up.close();
  });

  function spawn(home: string): RpcProcess {
    const p = new RpcProcess({ home, env });
    processes.push(p);
    return p;
  }

  /** A model that notes when each request arrived and answers at once (with `headers`). */
  function counting(model: string, headers: Record<string, string> = {}): number[] {
    const seen: number[] = [];
    arrivals.set(model, seen);
    up.scripts.set(model, async (_req, res) => {
      seen.push(Date.now());
      startSse(res, headers);
      await writeStream(res, model, [{ content: 'ok' }]);
    });
    return seen;
  }

  it('a burst of 100 calls from two processes against a budget of 60: never more than 60 a window upstream, none lost', async () => {
    const home = chatHome(up, { rateLimit: { requestsPerMinute: 60 } });
    const [a, b] = [spawn(home), spawn(home)];
    const seen = counting('acme/Burst');
    const started = Date.now();
    const calls = Array.from({ length: 100 }, (_, i) =>
      (i % 2 ? a : b).request(i % 4 < 2 ? 'chat.complete' : 'chat.stream', { model: 'acme/Burst', messages: user }, `burst-${i}`),
    );
    const replies = await Promise.all(calls);
    const took = Date.now() - started;

    expect(replies.filter((r) => r.result?.message?.content === 'ok')).toHaveLength(100);
    expect(seen).toHaveLength(100);
    expect(busiest(seen)).toBeLessThanOrEqual(60);
    // 60 go at once, the other 40 one window (and the arrival margin) later: paced, not refused.
    expect(took).toBeGreaterThanOrEqual(WINDOW_MS);
    expect(took).toBeLessThan(4 * WINDOW_MS + 5_000);
    const paced = [...a.notifications, ...b.notifications].filter((m) => m.method === 'chat.status' && m.params.phase === 'pacing');
    expect(paced.length).toBeGreaterThanOrEqual(40);
    expect(paced[0]!.params).toEqual(
      expect.objectContaining({
        model: 'chutes/acme/Burst',
        delayMs: expect.any(Number),
        message: expect.stringMatching(/60 requests a minute/),
      }),
    );
    // Each announced before its call's reply.
    for (const p of [a, b]) {
      for (const s of p.notifications.filter((m) => m.method === 'chat.status')) {
        const replyAt = p.messages.findIndex((m) => m.id === s.params.streamId);
        expect(p.messages.indexOf(s)).toBeLessThan(replyAt);
      }
    }
    expect([...a.schemaProblems, ...b.schemaProblems]).toEqual([]);
  }, 30_000);

  it('follows the X-Chutes-RL-User the server sends: a lower limit paces at it', async () => {
    // rateLimit left unset: the default budget, which the server's header replaces.
    const p = spawn(chatHome(up, { rateLimit: {} }));
    const seen = counting('acme/Tight', { 'x-chutes-rl-user': '3' });
    await p.request('chat.complete', { model: 'acme/Tight', messages: user }, 'tight-first');
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, i) => p.request('chat.complete', { model: 'acme/Tight', messages: user }, `tight-${i}`)),
    );
    expect(replies.every((r) => r.result)).toBe(true);
    expect(busiest(seen)).toBeLessThanOrEqual(3);
    expect(p.notifications.filter((m) => m.method === 'chat.status' && m.params.phase === 'pacing').length).toBeGreaterThanOrEqual(3);
  }, 30_000);

  it('a budget of 0 or "inf" in the config turns pacing off: everything goes at once, with no status', async () => {
    const unlimited = spawn(chatHome(up, { rateLimit: { requestsPerMinute: 0 } }));
    const seen = counting('acme/Free');
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => unlimited.request('chat.complete', { model: 'acme/Free', messages: user }, `free-${i}`)),
    );
    expect(replies.every((r) => r.result)).toBe(true);
    expect(seen).toHaveLength(12);
    const inf = spawn(chatHome(up, { rateLimit: { requestsPerMinute: 'inf' } }));
    await inf.request('chat.complete', { model: 'acme/Free', messages: user }, 'inf');
    for (const p of [unlimited, inf]) expect(p.notifications.filter((m) => m.method === 'chat.status')).toEqual([]);
  }, 30_000);

  it('a call cancelled while it waits for the budget ends at once with -32800, and nothing is sent for it', async () => {
    const p = spawn(chatHome(up, { rateLimit: { requestsPerMinute: 1 } }));
    const seen = counting('acme/Wait');
    await p.request('chat.complete', { model: 'acme/Wait', messages: user }, 'wait-first');
    const waiting = p.request('chat.complete', { model: 'acme/Wait', messages: user }, 'wait-second');
    await p.next((m) => m.method === 'chat.status' && m.params.streamId === 'wait-second');
    p.notify('$/cancelRequest', { id: 'wait-second' });
    const r = await waiting;
    expect(r.error?.code).toBe(-32800);
    await new Promise((res) => setTimeout(res, WINDOW_MS + 200));
    expect(seen).toHaveLength(1);
  }, 30_000);

  // The host closing the input right after the reply ended the process while the pacing state's
  // update (the send's answer time) held the lock: the next process's first call then waited ~5 s
  // for it and gave up the shared file for the rest of its life.
  it('a process ended right after its reply leaves no lock: the next ones share the file at once', async () => {
    const home = chatHome(up, { rateLimit: { requestsPerMinute: 60 } });
    counting('acme/Quick');
    for (let i = 0; i < 4; i++) {
      // The real window: the four sends stay in it.
      const p = new RpcProcess({ home });
      const r = await p.request('chat.stream', { model: 'acme/Quick', messages: user }, `quick-${i}`);
      expect(r.result?.message?.content).toBe('ok');
      p.closeStdin();
      expect((await p.exited).code).toBe(0);
      await p.stop();
      expect(p.stderr).not.toMatch(/pacing keeps to this process/);
      expect(fs.existsSync(path.join(home, 'pacing.json.lock'))).toBe(false);
    }
    const state = JSON.parse(fs.readFileSync(path.join(home, 'pacing.json'), 'utf8'));
    expect(Object.values(state.buckets as Record<string, { sent: number[] }>).flatMap((b) => b.sent)).toHaveLength(4);
  }, 30_000);

  it('a paced call sends its chat request before the model-list lookup (for the cost), not after the lock', async () => {
    const p = spawn(chatHome(up, { rateLimit: { requestsPerMinute: 60 } }));
    counting('acme/First');
    const before = up.requests.length;
    const r = await p.request('chat.stream', { model: 'acme/First', messages: user }, 'first');
    expect(r.result?.message?.content).toBe('ok');
    const order = up.requests.slice(before).map((q) => `${q.method} ${q.url}`);
    expect(order.indexOf('POST /v1/chat/completions')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('POST /v1/chat/completions')).toBeLessThan(order.indexOf('GET /v1/models'));
  });

  it('--replay is never paced: three attempts against a budget of 1 go at once, and no state file is made', async () => {
    const home = tempHome();
    writeConfig(home, { models: { providers: { chutes: { rateLimit: { requestsPerMinute: 1 }, retryBaseDelayMs: 1, warmup: false } } } });
    const p = new RpcProcess({
      home,
      args: ['--replay', path.join(ROOT, 'fixtures', 'cassettes', 'chat-retry.json')],
      env: { CHUTES_API_KEY: 'cpk_test_fake_key' },
    });
    processes.push(p);
    const started = Date.now();
    const r = await p.request('chat.complete', { messages: user }, 'replayed');
    expect(r.result.attempts).toBe(3);
    // Paced, the second attempt would wait a whole minute (this process has the real window).
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(p.notifications.filter((m) => m.method === 'chat.status' && m.params.phase === 'pacing')).toEqual([]);
    expect(fs.existsSync(path.join(home, 'pacing.json'))).toBe(false);
  });
});
