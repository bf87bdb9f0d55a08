import { chatHome, startSse, startUpstream, type Upstream, wireChunk, event } from '../helpers/chat-upstream';
import { RpcProcess } from '../helpers/rpc-process';

describe('SIGHUP (the terminal closed) behaves like SIGTERM', () => {
  let upstream: Upstream;
  let started: () => void = () => undefined;
  beforeAll(async () => {
    upstream = await startUpstream();
    upstream.scripts.set('stall', (_req, res) => {
      startSse(res);
      res.write(event(wireChunk('stall', { content: 'half' })));
      started();
    });
  });
  afterAll(() => upstream.close());

  it('answers the request in flight (cancelled, with its partial), flushes, and exits 0', async () => {
    const p = new RpcProcess({ home: chatHome(upstream) });
    const inFlight = new Promise<void>((resolve) => (started = resolve));
    const reply = p.request('chat.complete', { model: 'stall', messages: [{ role: 'user', content: 'x' }] });
    await inFlight;
    p.child.kill('SIGHUP');
    const r = await reply;
    expect(r.error?.code).toBe(-32800);
    expect(r.error?.data).toHaveProperty('partial');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    await p.stop();
  });

  it.each(['SIGTERM', 'SIGHUP'] as const)(
    'still exits 0 on %s after a package that hooks signals (signal-exit, via the store lock) was loaded',
    async (signal) => {
      const p = new RpcProcess();
      const login = await p.request('auth.login', { method: 'apiKey', apiKey: 'cpk_test_fake_key', verify: false });
      expect(login.result).toBeDefined();
      p.child.kill(signal);
      expect(await p.exited).toEqual({ code: 0, signal: null });
      await p.stop();
    },
  );
});
