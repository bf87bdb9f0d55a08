import * as path from 'node:path';
import { encodeMessage } from '../../lib/server/framing/stream-writer';
import { startLoopback, writeConfig } from '../helpers/loopback';
import { RpcProcess, ROOT, tempHome, withServer } from '../helpers/rpc-process';

// Found by review: each case once lost a reply, crashed the process, or answered the wrong thing.
const SLOW = path.join(ROOT, 'fixtures', 'cassettes', 'conformance-slow.json');
const KEY = { CHUTES_API_KEY: 'cpk_test_fake_robustness_key' };
const story = { messages: [{ role: 'user', content: 'Tell me a long story' }] };

describe('robustness', () => {
  it.each([undefined, {}, { id: null }, []])('ignores a $/cancelRequest with params %j and keeps serving', async (params) => {
    await withServer({ args: ['--replay', SLOW], env: KEY }, async (p) => {
      const running = p.request('chat.stream', story);
      await p.next((m) => m.method === 'chat.delta');
      p.send({ jsonrpc: '2.0', method: '$/cancelRequest', ...(params === undefined ? {} : { params }) });
      expect((await p.request('config.validate', {})).result.valid).toBe(true);
      p.notify('$/cancelRequest', { id: 1 });
      expect((await running).error?.code).toBe(-32800);
      expect(p.child.exitCode).toBeNull();
    });
  });

  it('answers a stream piped in with end of input as cancelled (-32800 with partial), not as an internal error', async () => {
    const p = new RpcProcess({ args: ['--replay', SLOW], env: KEY });
    p.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { logLevel: 'debug' } });
    p.send({ jsonrpc: '2.0', id: 2, method: 'chat.stream', params: story });
    p.closeStdin();
    const r = await p.reply(2);
    expect(r.error?.code).toBe(-32800);
    expect(r.error?.data).toHaveProperty('partial');
    expect((await p.exited).code).toBe(0);
    expect(p.stderr).not.toMatch(/Connection is closed|TypeError/);
  });

  it('refuses every further request with an id still in flight, not only the second', async () => {
    await withServer({ args: ['--replay', SLOW], env: KEY }, async (p) => {
      p.send({ jsonrpc: '2.0', id: 1, method: 'chat.stream', params: story });
      await p.next((m) => m.method === 'chat.delta');
      for (let i = 0; i < 2; i++) {
        p.send({ jsonrpc: '2.0', id: 1, method: 'chat.stream', params: story });
        await p.next(() => p.messages.filter((x) => x.id === 1 && x.error?.code === -32600).length === i + 1);
      }
      p.notify('$/cancelRequest', { id: 1 });
      await p.next((m) => m.id === 1 && m.error?.code === -32800);
      const finals = p.messages.filter((m) => m.id === 1);
      expect(finals.filter((m) => m.error?.code === -32600)).toHaveLength(2);
      expect(finals.filter((m) => m.error?.code === -32800)).toHaveLength(1);
    });
  });

  it('refuses a second stream under a streamId in use', async () => {
    await withServer({ args: ['--replay', SLOW], env: KEY }, async (p) => {
      const a = p.request('chat.stream', { ...story, streamId: 'shared' });
      await p.next((m) => m.method === 'chat.delta');
      const b = await p.request('chat.stream', { ...story, streamId: 'shared' });
      expect(b.error?.code).toBe(-32602);
      expect(b.error?.data.errors).toEqual([{ path: '/streamId', message: expect.stringContaining('in flight') }]);
      p.notify('$/cancelRequest', { id: 1 });
      expect((await a).error?.code).toBe(-32800);
    });
  });

  it('answers every one of 20,000 requests piped in with end of input', async () => {
    const p = new RpcProcess({ checkSchemas: false });
    const n = 20_000;
    let batch = '';
    for (let i = 1; i <= n; i++) batch += encodeMessage({ jsonrpc: '2.0', id: i, method: 'config.validate', params: {} }, 'ndjson');
    p.sendRaw(batch);
    p.closeStdin();
    expect((await p.exited).code).toBe(0);
    const replies = new Set(p.messages.map((m) => m.id));
    expect(replies.size).toBe(n);
  }, 60_000);

  it('lets a running stream finish at end of input with --on-eof wait', async () => {
    const p = new RpcProcess({ args: ['--replay', SLOW, '--on-eof', 'wait'], env: KEY });
    const r = p.request('chat.stream', story);
    await p.next((m) => m.method === 'chat.delta');
    p.closeStdin();
    expect((await r).result?.finishReason).toBe('stop');
    expect((await p.exited).code).toBe(0);
    expect(p.stderr).not.toMatch(/TimeoutOverflowWarning/);
  }, 30_000);

  it('exits 1 on exit without shutdown even when end of input follows at once', async () => {
    const p = new RpcProcess();
    p.notify('exit');
    p.closeStdin();
    expect((await p.exited).code).toBe(1);
  });

  it('answers -32600, not -32601, to an unknown method after shutdown', async () => {
    await withServer({}, async (p) => {
      await p.request('shutdown');
      expect((await p.request('no.such.method', {})).error?.code).toBe(-32600);
    });
  });

  it('accepts a UTF-8 byte order mark before the first message', async () => {
    await withServer({}, async (p) => {
      p.sendRaw('\ufeff{"jsonrpc":"2.0","id":"bom","method":"config.validate","params":{}}\n');
      expect((await p.reply('bom')).result.valid).toBe(true);
    });
  });

  it('refuses a message nested too deeply with -32600 and keeps serving', async () => {
    await withServer({}, async (p) => {
      const deep = '['.repeat(100_000) + ']'.repeat(100_000);
      p.sendRaw(`{"jsonrpc":"2.0","id":"deep","method":"config.validate","params":{"config":{"x":${deep}}}}\n`);
      const r = await p.next((m) => m.error?.code === -32600);
      expect(r.error?.message).toMatch(/nested more than 512 levels/);
      expect((await p.request('config.validate', {})).result.valid).toBe(true);
    });
  });

  it('never echoes a substituted value (it may be a secret) in config problems', async () => {
    const secret = 'cpk_processenv.SECRETVALUE';
    await withServer({ env: { CHUTES_API_KEY: secret, OPAQUE_TOKEN: 'opaque-not-shaped-secret' } }, async (p) => {
      for (const v of ['CHUTES_API_KEY', 'OPAQUE_TOKEN']) {
        const r = await p.request('config.validate', { text: `{ models: { providers: { chutes: { baseUrl: "\${${v}}" } } } }` });
        expect(r.result.valid).toBe(false);
        expect(JSON.stringify(r)).not.toMatch(/SECRETVALUE|opaque-not-shaped-secret/);
      }
    });
  });
});

describe('nothing secret in answers', () => {
  it('does not quote the input in a parse error (it may hold a key)', async () => {
    await withServer({}, async (p) => {
      p.sendRaw('{"jsonrpc":"2.0","id":1,"method":"auth.login","params":{"method":"apiKey","apiKey":opaque_unquoted_key_value}}\n');
      const r = await p.next((m) => m.error?.code === -32700);
      expect(r.error?.message).toMatch(/^Parse error: /);
      expect(r.error?.message).not.toMatch(/opaque|apiKey/);
    });
  });

  it('refuses a base URL with a user or password (use headers), and shows it nowhere', async () => {
    const home = tempHome();
    writeConfig(home, {
      env: { MY_TOKEN: 'tok_review_secretvalue' },
      models: { providers: { chutes: { baseUrl: 'http://u:${MY_TOKEN}@127.0.0.1:9/v1' } } },
    });
    await withServer({ home }, async (p) => {
      const r = await p.request('initialize', {});
      expect(r.result.provider.baseUrl).toBe('https://llm.chutes.ai/v1');
      expect(JSON.stringify(r.result.configProblems)).toMatch(/user name or password.*headers/);
      const chat = await p.request('chat.complete', { messages: [{ role: 'user', content: 'x' }] });
      expect(chat.error?.code).toBe(-32020);
      expect(p.stdout.toString() + p.stderr).not.toMatch(/secretvalue|u:tok/);
    });
  });

  it('verifies the key being logged in, even when the config sets an Authorization header', async () => {
    const seen: Array<string | undefined> = [];
    const server = await startLoopback((req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader('content-type', 'application/json');
      res.end('{"object":"list","data":[]}');
    });
    const home = tempHome();
    writeConfig(home, {
      models: { providers: { chutes: { baseUrl: `${server.url}/v1`, headers: { Authorization: 'Bearer cpk_test_fake_from_config' } } } },
    });
    try {
      await withServer({ home }, async (p) => {
        const r = await p.request('auth.login', { method: 'apiKey', apiKey: 'cpk_test_fake_being_checked' });
        expect(r.result.verified).toBe(true);
      });
      expect(seen).toEqual(['Bearer cpk_test_fake_being_checked']);
    } finally {
      await server.close();
    }
  });
});
