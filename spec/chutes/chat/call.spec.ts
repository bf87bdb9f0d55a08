import * as net from 'node:net';
import { ChutesContext } from '../../../lib/chutes/context';
import { runChat } from '../../../lib/chutes/chat/call';
import type { Credential, CredentialResolver } from '../../../lib/chutes/credentials';
import { resolveConfigValue } from '../../../lib/config/load';
import type { ChatMessage } from '../../../lib/generated/types';
import { toRpcError } from '../../../lib/methods/rpc-errors';
import type { RpcError } from '../../../lib/server/rpc-error';
import { Logger } from '../../../lib/log/logger';
import { chatHome, event, startSse, startUpstream, type Upstream, wireChunk, writeStream } from '../../helpers/chat-upstream';
import { RpcProcess, tempHome } from '../../helpers/rpc-process';

const user: [ChatMessage] = [{ role: 'user', content: 'hi' }];

/** runChat in this process, as the server calls it, with a given credential resolver. */
function makeApp(
  baseUrl: string,
  provider: Record<string, unknown> = {},
  creds?: Partial<CredentialResolver>,
): { app: ChutesContext; lines: string[] } {
  const lines: string[] = [];
  const log = new Logger((l) => lines.push(l));
  log.setLevel('debug');
  const state = resolveConfigValue(
    { models: { providers: { chutes: { baseUrl, apiKey: 'cpk_test_fake_key', retryBaseDelayMs: 1, ...provider } } } },
    {},
  );
  expect(state.problems).toEqual([]);
  const app = new ChutesContext({ home: tempHome() }, state, log, creds ? { credentials: creds as CredentialResolver } : {});
  return { app, lines };
}

async function failure(p: Promise<unknown>): Promise<RpcError & { data: any }> {
  return p.then(
    (r) => {
      throw new Error(`expected a failure, got ${JSON.stringify(r)}`);
    },
    (e: unknown) => toRpcError(e) as RpcError & { data: any },
  );
}

describe('runChat', () => {
  let up: Upstream;
  beforeAll(async () => {
    up = await startUpstream();
  });
  afterAll(() => up.close());

  it('after a 401, retries once with the credential afterUnauthorized gives', async () => {
    up.scripts.set('acme/Auth', async (req, res) => {
      if (req.headers.authorization !== 'Bearer cak_test_new') {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: 'Invalid token or user not found' }));
        return;
      }
      startSse(res);
      await writeStream(res, 'acme/Auth', [{ content: 'welcome back' }]);
    });
    const given: Credential[] = [];
    const creds = {
      resolve: async () => ({ method: 'oauth', token: 'cak_test_old', source: 'store' }) as Credential,
      afterUnauthorized: async (c: Credential) => {
        given.push(c);
        return { method: 'oauth', token: given.length === 1 ? 'cak_test_new' : 'cak_test_other', source: 'store' } as Credential;
      },
    };
    const { app } = makeApp(`${up.url}/v1`, {}, creds);
    try {
      const r = await runChat(app, { params: { model: 'acme/Auth', messages: user }, streamId: 's', signal: new AbortController().signal });
      expect(r.message.content).toBe('welcome back');
      expect(r.attempts).toBe(2);
      expect(given.map((c) => c.token)).toEqual(['cak_test_old']);

      // Still refused with the new one: one refresh only, then -32001.
      up.scripts.set('acme/Auth401', (_req, res) => {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: 'Invalid token or user not found' }));
      });
      const e = await failure(
        runChat(app, { params: { model: 'acme/Auth401', messages: user }, streamId: 's', signal: new AbortController().signal }),
      );
      expect(e.code).toBe(-32001);
      expect(e.data).toMatchObject({ type: 'unauthorized', attempts: 2 });
      expect(given).toHaveLength(2);
    } finally {
      await app.close();
    }
  });

  it('does not retry when the server asks for a longer wait than is worth it, and says how long', async () => {
    let calls = 0;
    up.scripts.set('acme/Later', (_req, res) => {
      calls++;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '120' });
      res.end(JSON.stringify({ detail: 'slow down' }));
    });
    const { app } = makeApp(`${up.url}/v1`);
    try {
      const e = await failure(
        runChat(app, { params: { model: 'acme/Later', messages: user }, streamId: 's', signal: new AbortController().signal }),
      );
      expect(e.code).toBe(-32029);
      expect(e.data).toMatchObject({ retryable: true, retryAfterMs: 120_000, attempts: 1 });
      expect(calls).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('is cancelled at once while waiting to retry', async () => {
    up.scripts.set('acme/Wait', (_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '30' });
      res.end(JSON.stringify({ detail: 'No instances available (yet)' }));
    });
    // A cold chute's 503: with warm-up on, the (unscripted) warm-up would answer first.
    const { app } = makeApp(`${up.url}/v1`, { warmup: false });
    try {
      const ac = new AbortController();
      const t0 = Date.now();
      const p = runChat(app, { params: { model: 'acme/Wait', messages: user }, streamId: 's', signal: ac.signal });
      setTimeout(() => ac.abort(new Error('cancelled by the host')), 100);
      const e = await failure(p);
      expect(e.code).toBe(-32800);
      expect(e.data).toEqual({ partial: { role: 'assistant', content: '' }, attempts: 1 });
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      await app.close();
    }
  });

  it('retries a refused connection, and does not retry a request that timed out waiting for headers', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const refused = makeApp(`http://127.0.0.1:${port}/v1`, { maxRetries: 2 });
    try {
      const e = await failure(
        runChat(refused.app, { params: { model: 'acme/X', messages: user }, streamId: 's', signal: new AbortController().signal }),
      );
      expect(e.code).toBe(-32060);
      expect(e.data).toMatchObject({ type: 'network_error', attempts: 3 });
      expect(e.message).toMatch(/ECONNREFUSED/);
    } finally {
      await refused.app.close();
    }

    let calls = 0;
    up.scripts.set('acme/Silent', () => {
      calls++; // ...and never answers.
    });
    const silent = makeApp(`${up.url}/v1`, { timeoutMs: 1000 });
    try {
      const e = await failure(
        runChat(silent.app, { params: { model: 'acme/Silent', messages: user }, streamId: 's', signal: new AbortController().signal }),
      );
      expect(e.code).toBe(-32060);
      expect(e.message).toMatch(/timed out/);
      expect(e.data.attempts).toBe(1);
      expect(calls).toBe(1);
    } finally {
      await silent.app.close();
    }
  });

  it('keeps the partial message when the consumer fails, and drops the upstream connection', async () => {
    let closed!: Promise<void>;
    up.scripts.set('acme/Endless', (req, res) => {
      closed = new Promise((r) => req.socket.once('close', () => r()));
      startSse(res);
      const timer = setInterval(() => res.write(event(wireChunk('acme/Endless', { content: 'x' }))), 5);
      res.once('close', () => clearInterval(timer));
    });
    const { app } = makeApp(`${up.url}/v1`);
    try {
      let n = 0;
      const e = await failure(
        runChat(app, {
          params: { model: 'acme/Endless', messages: user },
          streamId: 's',
          signal: new AbortController().signal,
          onDelta: () => {
            if (++n === 3) throw new Error('output closed');
          },
        }),
      );
      expect(e.message).toBe('output closed');
      await closed;
    } finally {
      await app.close();
    }
  });
});

describe('stdin EOF during a stream', () => {
  it('cancels it: the reply is -32800 with the partial message, the upstream request is aborted, and the process exits 0', async () => {
    const up = await startUpstream();
    let closed!: Promise<void>;
    up.scripts.set('acme/Hold', (req, res) => {
      closed = new Promise((r) => req.socket.once('close', () => r()));
      startSse(res);
      res.write(event(wireChunk('acme/Hold', { content: 'partial answer' })));
    });
    const p = new RpcProcess({ home: chatHome(up) });
    try {
      const reply = p.request('chat.stream', { model: 'acme/Hold', messages: user }, 'eof');
      await p.next((m) => m.method === 'chat.delta');
      p.closeStdin();
      const r = await reply;
      expect(r.error?.code).toBe(-32800);
      expect(r.error?.data.partial).toEqual({ role: 'assistant', content: 'partial answer' });
      expect((await p.exited).code).toBe(0);
      await closed;
    } finally {
      await p.stop();
      await up.close();
    }
  });
});
