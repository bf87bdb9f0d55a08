import { encodeMessage } from '../../lib/server/framing/stream-writer';
import { writeConfig } from '../helpers/loopback';
import { RpcProcess, tempHome, withServer } from '../helpers/rpc-process';

describe.each(['ndjson', 'lsp'] as const)('bad input over %s', (framing) => {
  const raw = (text: string) => (framing === 'lsp' ? `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}` : `${text}\n`);

  it('answers garbage with -32700 (id null) and keeps serving', async () => {
    await withServer({ framing }, async (p) => {
      p.sendRaw(raw('this is not json'));
      const err = await p.next((m) => m.error?.code === -32700);
      expect(err.id).toBeNull();
      const ok = await p.request('config.validate', {});
      expect(ok.result).toEqual({ valid: true, errors: [] });
    });
  });

  it('answers JSON that is not a request with -32600, keeping the id when it can', async () => {
    await withServer({ framing }, async (p) => {
      p.sendRaw(raw('[{"jsonrpc":"2.0","id":1,"method":"initialize"}]'));
      p.sendRaw(raw('42'));
      p.sendRaw(raw('{"jsonrpc":"1.0","id":"old","method":"initialize"}'));
      p.sendRaw(raw('{"jsonrpc":"2.0","id":{"x":1},"method":"initialize"}'));
      p.sendRaw(raw('{"jsonrpc":"2.0","id":"nomethod"}'));
      const old = await p.reply('old');
      expect(old.error?.code).toBe(-32600);
      expect((await p.reply('nomethod')).error?.code).toBe(-32600);
      await p.request('shutdown');
      const invalid = p.messages.filter((m) => m.error?.code === -32600);
      expect(invalid).toHaveLength(5);
      expect(invalid.filter((m) => m.id === null)).toHaveLength(3);
    });
  });

  it('answers params that fail the schema with -32602 and data.errors [{path, message}]', async () => {
    await withServer({ framing }, async (p) => {
      const r = await p.request('config.validate', { path: 5, extra: true });
      expect(r.error?.code).toBe(-32602);
      expect(r.error?.data.errors).toEqual(
        expect.arrayContaining([
          { path: '/path', message: 'must be string' },
          { path: '/extra', message: 'is not a known property' },
        ]),
      );
      const arr = await p.request('config.validate', [1, 2]);
      expect(arr.error?.code).toBe(-32602);
      const str = await p.request('initialize', 'hello');
      expect(str.error?.code).toBe(-32602);
    });
  });

  it('refuses a message over the configured limit with an error that keeps its id, and keeps serving', async () => {
    const home = tempHome();
    writeConfig(home, { chutesRpc: { maxMessageBytes: 4096 } });
    await withServer({ framing, home }, async (p) => {
      p.send({ jsonrpc: '2.0', id: 'huge', method: 'config.validate', params: { text: 'x'.repeat(100_000) } });
      const r = await p.reply('huge');
      expect(r.error?.code).toBe(-32600);
      expect(r.error?.data).toEqual({ type: 'message_too_large', size: expect.any(Number), limit: 4096 });
      expect((await p.request('config.validate', { text: '{}' })).result.valid).toBe(true);
    });
  });

  it('refuses a message over the default 16 MiB limit without crashing', async () => {
    await withServer({ framing }, async (p) => {
      p.send({ jsonrpc: '2.0', id: 17, method: 'config.validate', params: { text: 'y'.repeat(17 * 1024 * 1024) } });
      const r = await p.reply(17, 30_000);
      expect(r.error?.data.type).toBe('message_too_large');
      expect((await p.request('config.validate', {})).result.valid).toBe(true);
    });
  });

  it('refuses a second request with an id that is still in flight, answering each request once', async () => {
    await withServer({ framing }, async (p) => {
      // Both arrive in one write, before the first can be answered.
      const m = { jsonrpc: '2.0', id: 'same', method: 'config.validate', params: {} };
      p.sendRaw(encodeMessage(m, framing) + encodeMessage(m, framing));
      await p.request('shutdown');
      const replies = p.messages.filter((x) => x.id === 'same');
      expect(replies).toHaveLength(2);
      expect(replies.filter((x) => x.result?.valid === true)).toHaveLength(1);
      expect(replies.filter((x) => x.error?.code === -32600)).toHaveLength(1);
    });
  });

  it('puts nothing but protocol messages on stdout, even at debug log level', async () => {
    await withServer({ framing, args: ['--log-level', 'debug'] }, async (p) => {
      p.sendRaw(raw('nonsense'));
      await p.request('initialize', {});
      await p.request('config.validate', { text: '{bad json5' });
      await p.request('shutdown');
      expect(p.malformedOutput).toEqual([]);
      expect(p.messages.length).toBeGreaterThanOrEqual(4);
      expect(p.stderr).toContain('framing detected');
    });
  });
});

describe('lifecycle', () => {
  it('exits 1 on exit without shutdown (as LSP does)', async () => {
    const p = new RpcProcess();
    await p.request('initialize', {});
    p.notify('exit');
    expect((await p.exited).code).toBe(1);
  });

  it('refuses requests after shutdown with -32600', async () => {
    await withServer({}, async (p) => {
      await p.request('shutdown');
      const r = await p.request('config.validate', {});
      expect(r.error?.code).toBe(-32600);
      expect(r.error?.message).toMatch(/shutting down/);
    });
  });

  it('exits 0 at end of input', async () => {
    const p = new RpcProcess();
    await p.request('initialize', {});
    p.closeStdin();
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('exits 0 on %s', async (signal) => {
    const p = new RpcProcess();
    await p.request('initialize', {});
    p.child.kill(signal);
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it('ends quietly when the host closes its end of stdout (EPIPE)', async () => {
    const p = new RpcProcess();
    await p.request('initialize', {});
    p.child.stdout.destroy();
    for (let i = 0; i < 20; i++) p.send({ jsonrpc: '2.0', id: 100 + i, method: 'initialize', params: {} });
    const { code } = await p.exited;
    expect(code).toBe(0);
    expect(p.stderr).not.toMatch(/Error|at .*\.js/);
  });

  it('answers a request that arrives together with end of input (a shell pipe)', async () => {
    const p = new RpcProcess();
    p.send({ jsonrpc: '2.0', id: 1, method: 'config.validate', params: {} });
    p.closeStdin();
    const r = await p.reply(1);
    expect(r.result?.valid ?? r.error?.code).toBeDefined();
    expect((await p.exited).code).toBe(0);
  });
});

describe('config at start', () => {
  it('starts with an invalid config and reports the problems in initialize and config.validate', async () => {
    const home = tempHome();
    writeConfig(home, '{ models: { providers: { chutes: { baseUrl: "http://example.com/v1", oops: 1 } } } }');
    await withServer({ home }, async (p) => {
      const init = await p.request('initialize', {});
      expect(init.result.configProblems).toEqual(
        expect.arrayContaining([{ path: '/models/providers/chutes/oops', message: 'is not a known property' }]),
      );
      const v = await p.request('config.validate', {});
      expect(v.result.valid).toBe(false);
      expect(v.result.path).toContain('config.json5');
      expect(p.stderr).toContain('oops');
    });
  });

  it('reads --config before $CHUTES_RPC_CONFIG before <home>/config.json5', async () => {
    const home = tempHome();
    writeConfig(home, { agents: { defaults: { model: { primary: 'chutes/from-home' } } } });
    const other = tempHome();
    const envFile = writeConfig(other, { agents: { defaults: { model: { primary: 'chutes/from-env' } } } });
    const third = tempHome();
    const flagFile = writeConfig(third, { agents: { defaults: { model: { primary: 'chutes/from-flag' } } } });
    const model = async (opts: ConstructorParameters<typeof RpcProcess>[0]) =>
      withServer(opts!, async (p) => (await p.request('initialize', {})).result.provider.defaultModel);
    expect(await model({ home })).toBe('chutes/from-home');
    expect(await model({ home, env: { CHUTES_RPC_CONFIG: envFile } })).toBe('chutes/from-env');
    expect(await model({ home, env: { CHUTES_RPC_CONFIG: envFile }, args: ['--config', flagFile] })).toBe('chutes/from-flag');
  });
});
