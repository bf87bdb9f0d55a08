import { chatHome, event, startSse, startUpstream, type Upstream, writeStream } from '../helpers/chat-upstream';
import { RpcProcess } from '../helpers/rpc-process';

const user = [{ role: 'user', content: 'hi' }];
const cold = JSON.stringify({ detail: 'No instances available (yet) for chute_id=1234' });

describe('warm-up of a cold chute', () => {
  let up: Upstream;
  let p: RpcProcess;
  beforeAll(async () => {
    up = await startUpstream();
    p = new RpcProcess({ home: chatHome(up) });
  });
  afterAll(async () => {
    await p.stop();
    await up.close();
  });

  /** A chute that answers 503 until its warm-up stream has said "hot" after `coldEvents` cold events. */
  function coldChute(model: string, coldEvents: number) {
    let hot = false;
    let warmups = 0;
    up.scripts.set(model, async (_req, res) => {
      if (!hot) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(cold);
        return;
      }
      startSse(res);
      await writeStream(res, model, [{ content: 'warm hello' }]);
    });
    up.routes.set(`GET /chutes/warmup/${model}`, async (req, res) => {
      warmups++;
      expect(req.headers.authorization).toMatch(/^Bearer /);
      startSse(res);
      for (let i = 0; i < coldEvents; i++) {
        res.write(event({ status: 'cold', log: `instance ${i} starting` }));
        await new Promise((r) => setTimeout(r, 20));
      }
      hot = true;
      res.write(event({ status: 'hot' }));
      res.end();
    });
    return { warmups: () => warmups };
  }

  it('warms the chute up with chat.status progress until hot, then retries once and answers', async () => {
    const chute = coldChute('acme/Cold', 3);
    const r = await p.request('chat.stream', { model: 'acme/Cold', messages: user }, 'cold-1');
    expect(r.result.message.content).toBe('warm hello');
    expect(r.result.attempts).toBe(2);
    expect(chute.warmups()).toBe(1);
    const phases = p.notifications.filter((m) => m.method === 'chat.status' && m.params.streamId === 'cold-1').map((m) => m.params);
    expect(phases.every((s) => s.phase === 'warmup' && s.model === 'acme/Cold')).toBe(true);
    expect(phases.filter((s) => /is cold/.test(s.message))).toHaveLength(4); // the start, then one per cold event
    expect(phases.at(-1)!.message).toMatch(/is hot after \d+ s/);
    expect(phases.at(-1)!.elapsedMs).toBeGreaterThanOrEqual(40);
    expect(p.schemaProblems).toEqual([]);
  });

  it('does not warm up when the call says warmup: false (the 503 is retried as before)', async () => {
    const chute = coldChute('acme/ColdOff', 1);
    const r = await p.request('chat.complete', { model: 'acme/ColdOff', messages: user, warmup: false });
    expect(r.error?.code).toBe(-32053);
    expect(chute.warmups()).toBe(0);
  });

  it('ends with the 503 and why when the warm-up is refused (402: no balance)', async () => {
    up.scripts.set('acme/Broke', (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(cold);
    });
    up.routes.set('GET /chutes/warmup/acme/Broke', (_req, res) => {
      res.writeHead(402, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: 'Account balance is $0.00' }));
    });
    const r = await p.request('chat.complete', { model: 'acme/Broke', messages: user });
    expect(r.error?.code).toBe(-32053);
    expect(r.error?.data).toMatchObject({ type: 'model_unavailable', httpStatus: 503, retryable: false, attempts: 1 });
    expect(r.error?.data.message).toMatch(/No instances available.*warm-up failed: .*HTTP 402: Account balance/);
  });
});
