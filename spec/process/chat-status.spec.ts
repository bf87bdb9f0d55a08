import { chatHome, startSse, startUpstream, type Upstream, writeStream } from '../helpers/chat-upstream';
import { RpcProcess } from '../helpers/rpc-process';

const user = [{ role: 'user', content: 'hi' }];

describe('chat.status progress notifications', () => {
  let up: Upstream;
  let p: RpcProcess;
  beforeAll(async () => {
    up = await startUpstream();
    p = new RpcProcess({ home: chatHome(up, { retryBaseDelayMs: 40 }) });
  });
  afterAll(async () => {
    await p.stop();
    await up.close();
  });

  /** Answers `failures` times with `status`, then streams "ok". */
  function flaky(model: string, failures: number, status: number, headers: Record<string, string> = {}) {
    let calls = 0;
    up.scripts.set(model, async (_req, res) => {
      if (calls++ < failures) {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify({ detail: 'Infrastructure is at maximum capacity, try again later' }));
        return;
      }
      startSse(res);
      await writeStream(res, model, [{ content: 'ok' }]);
    });
  }

  it.each(['chat.stream', 'chat.complete'])(
    '%s: each retry back-off is announced before its wait, with attempt, reason and delay',
    async (method) => {
      const model = `acme/Flaky-${method}`;
      flaky(model, 2, 429);
      const id = `status-${method}`;
      const r = await p.request(method, { model, messages: user }, id);
      expect(r.result.attempts).toBe(3);
      const statuses = p.notifications.filter((m) => m.method === 'chat.status' && m.params.streamId === id).map((m) => m.params);
      expect(statuses).toEqual([
        expect.objectContaining({
          phase: 'retry',
          attempt: 2,
          reason: 'rate_limited',
          model: `chutes/${model}`,
          delayMs: expect.any(Number),
        }),
        expect.objectContaining({
          phase: 'retry',
          attempt: 3,
          reason: 'rate_limited',
          model: `chutes/${model}`,
          delayMs: expect.any(Number),
        }),
      ]);
      expect(statuses[0].message).toMatch(/HTTP 429.*retry 1 of 3 in \d+ ms/);
      // Announced before the reply, never after it.
      const replyAt = p.messages.findIndex((m) => m.id === id);
      const lastStatusAt = p.messages.findLastIndex((m) => m.method === 'chat.status' && m.params.streamId === id);
      expect(lastStatusAt).toBeLessThan(replyAt);
      expect(p.schemaProblems).toEqual([]);
    },
  );

  it('sends none when the first attempt succeeds', async () => {
    flaky('acme/Fine', 0, 200);
    const r = await p.request('chat.stream', { model: 'acme/Fine', messages: user }, 'fine');
    expect(r.result.attempts).toBe(1);
    expect(p.notifications.filter((m) => m.method === 'chat.status' && m.params.streamId === 'fine')).toEqual([]);
  });
});
