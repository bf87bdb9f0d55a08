import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { chatHome, event, FAKE_KEY, startSse, startUpstream, type Upstream, usageChunk, wireChunk } from '../helpers/chat-upstream';
import { type Loopback, startLoopback } from '../helpers/loopback';
import { RpcProcess, type RpcMessage } from '../helpers/rpc-process';

/*
 * Upstream faults, all against one server process at once: every call gets one reply (a result,
 * or a provider error with a resolution), within the configured timeout, and the process stays up
 * with bounded memory. timeoutMs is 1 s, maxRetries 2, maxAnswerChars 4096.
 */

type Res = Parameters<Parameters<Upstream['scripts']['set']>[1]>[1];

const deltaEvent = (model: string, content: string) => event(wireChunk(model, { content }));

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s*(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/** Resolves at the response's next 'drain', or when it closed; the other listener is taken off again. */
function drainedOrClosed(res: Res): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/** Writes `total` bytes of one endless line, stopping once the client has gone. */
async function hugeLine(res: Res, total: number): Promise<void> {
  const piece = Buffer.alloc(1024 * 1024, 'x');
  res.write('data: ');
  for (let sent = 0; sent < total && !res.destroyed; sent += piece.length) {
    if (!res.write(piece)) await drainedOrClosed(res);
  }
  res.end();
}

describe('the fault matrix', () => {
  let up: Upstream;
  let other: Loopback;
  let p: RpcProcess;
  const replies = new Map<string, RpcMessage>();
  const elapsed = new Map<string, number>();
  const faults: Record<string, (res: Res) => void | Promise<void>> = {
    'stall-after-headers': (res) => startSse(res),
    'stall-mid-stream': (res) => {
      startSse(res);
      res.write(deltaEvent('stall-mid-stream', 'hello'));
    },
    drip: async (res) => {
      startSse(res);
      const body = Buffer.from(deltaEvent('drip', 'drip') + deltaEvent('drip', 'ped') + event('[DONE]'));
      for (let i = 0; i < body.length && !res.destroyed; i += 8) {
        res.write(body.subarray(i, i + 8));
        await new Promise((r) => setTimeout(r, 2));
      }
      res.end();
    },
    'line-50MiB': async (res) => {
      startSse(res);
      await hugeLine(res, 50 * 1024 * 1024);
    },
    'invalid-utf8': (res) => {
      startSse(res);
      const e = Buffer.from(deltaEvent('invalid-utf8', 'aXb'));
      e[e.indexOf('aXb') + 1] = 0xff;
      res.end(Buffer.concat([e, Buffer.from(event('[DONE]'))]));
    },
    'non-object-data': (res) => {
      startSse(res);
      res.end(event('42') + event('[DONE]'));
    },
    'data-error': (res) => {
      startSse(res);
      res.end(event({ error: { message: 'upstream said boom', code: 500 } }));
    },
    'raw-error-mid-stream': (res) => {
      startSse(res);
      res.end(deltaEvent('raw-error-mid-stream', 'partial ') + '{"error": "the model ran out of memory"}\n');
    },
    reset: (res) => {
      startSse(res);
      res.write(deltaEvent('reset', 'cut'));
      setImmediate(() => res.socket?.destroy());
    },
    'html-200': (res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><body><h1>Bad gateway page</h1></body></html>');
    },
    gzip: (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      res.end(zlib.gzipSync(deltaEvent('gzip', 'zipped') + event(usageChunk('gzip', 3, 1)) + event('[DONE]')));
    },
    'zstd-encoded': (res) => {
      res.writeHead(500, { 'content-type': 'application/json', 'content-encoding': 'zstd' });
      res.end(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 1, 2, 3]));
    },
    'redirect-302': (res) => {
      res.writeHead(302, { location: `${other.url}/v1/chat/completions` });
      res.end();
    },
    '429-huge-retry-after': (res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '99999999' });
      res.end('{"detail":"slow down"}');
    },
    '429-negative-retry-after': (res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '-5' });
      res.end('{"detail":"slow down"}');
    },
    '429-date-retry-after': (res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': new Date(Date.now() - 1000).toUTCString() });
      res.end('{"detail":"slow down"}');
    },
    '503-loop': (res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      // Not "No instances available": that one is a cold chute, warmed up instead of retried.
      res.end('{"detail":"Service temporarily unavailable"}');
    },
    'endless-answer': async (res) => {
      startSse(res);
      for (let i = 0; i < 100_000 && !res.destroyed; i++) {
        if (!res.write(deltaEvent('endless-answer', 'x'.repeat(100)))) await drainedOrClosed(res);
      }
      res.end();
    },
  };
  const doneThenOpen = (res: Res) => {
    startSse(res);
    res.write(deltaEvent('done-then-open', 'quick') + event('[DONE]'));
    // ...and never ends the response.
  };

  beforeAll(async () => {
    up = await startUpstream();
    other = await startLoopback((_req, res) => res.end('{}'));
    for (const [model, script] of Object.entries(faults)) up.scripts.set(model, (_req, res) => script(res));
    up.scripts.set('done-then-open', (_req, res) => doneThenOpen(res));
    const home = chatHome(up, { timeoutMs: 1000, maxRetries: 2 });
    const config = JSON.parse(fs.readFileSync(`${home}/config.json5`, 'utf8'));
    fs.writeFileSync(`${home}/config.json5`, JSON.stringify({ ...config, chutesRpc: { maxAnswerChars: 4096 } }));
    p = new RpcProcess({ home });
    await Promise.all(
      Object.keys(faults).map(async (model) => {
        const t0 = Date.now();
        replies.set(model, await p.request('chat.complete', { model, messages: [{ role: 'user', content: 'x' }] }));
        elapsed.set(model, Date.now() - t0);
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await p.stop();
    await up.close();
    await other.close();
  });

  const error = (model: string) => replies.get(model)?.error as { code: number; message: string; data: Record<string, any> };

  it('answers every call once, keeps the process up and its memory bounded, and leaks no key', async () => {
    expect([...replies.keys()].sort()).toEqual(Object.keys(faults).sort());
    expect(p.child.exitCode).toBeNull();
    expect(rssMiB(p.child.pid!)).toBeLessThan(300);
    expect(p.schemaProblems).toEqual([]);
    expect(p.undeclaredErrors).toEqual([]);
    for (const [, r] of replies) if (r.error) expect(r.error.data).toHaveProperty('resolution');
    expect(p.stdout.toString()).not.toContain(FAKE_KEY);
    expect(p.stderr).not.toContain(FAKE_KEY);
  });

  it('times out a stall after the headers and mid-stream (keeping the partial)', () => {
    expect(error('stall-after-headers').data.type).toBe('network_error');
    expect(error('stall-mid-stream').data.partial.content).toBe('hello');
    expect(elapsed.get('stall-mid-stream')).toBeLessThan(10_000);
  });

  it('takes a dripped stream as it comes', () => {
    expect(replies.get('drip')?.result.message.content).toBe('dripped');
  });

  it('refuses a 50 MiB line without holding it', () => {
    expect(error('line-50MiB').message).toMatch(/over \d+ characters/);
  });

  it('replaces invalid UTF-8 rather than failing', () => {
    expect(replies.get('invalid-utf8')?.result.message.content).toBe('a\ufffdb');
  });

  it('reports a non-object data:, a data: error, and a raw JSON error mid-stream (with the partial)', () => {
    expect(error('non-object-data').data.type).toBe('server_error');
    expect(error('data-error').message).toMatch(/upstream said boom/);
    expect(error('raw-error-mid-stream').message).toMatch(/ran out of memory/);
    expect(error('raw-error-mid-stream').data.partial.content).toBe('partial ');
  });

  it('reports a reset connection and an HTML page', () => {
    expect(error('reset')).toBeDefined();
    expect(error('html-200').message).toMatch(/Bad gateway page|not an event stream|text\/html/i);
  });

  it('decodes a gzip-encoded body, and refuses an encoding it cannot decode in words, not binary', () => {
    expect(replies.get('gzip')?.result.message.content).toBe('zipped');
    expect(error('zstd-encoded').message).toMatch(/encoded with "zstd", which chutes-rpc cannot decode/);
  });

  it('never follows a redirect, so Authorization never goes to another host', () => {
    expect(error('redirect-302')).toBeDefined();
    expect(other.requests).toEqual([]);
  });

  it('does not wait out a huge Retry-After, reads a negative one as none and a past date as now', () => {
    const huge = error('429-huge-retry-after');
    expect(huge.data).toMatchObject({ type: 'rate_limited', attempts: 1 });
    expect(huge.data.retryAfterMs).toBeGreaterThan(60_000);
    expect(error('429-negative-retry-after').data).toMatchObject({ type: 'rate_limited', attempts: 3 });
    expect(error('429-date-retry-after').data).toMatchObject({ type: 'rate_limited', attempts: 3 });
  });

  it('gives up a 503 loop after the configured retries', () => {
    expect(error('503-loop').data).toMatchObject({ type: 'model_unavailable', attempts: 3 });
  });

  it('ends an answer past maxAnswerChars with a provider error that keeps the partial', () => {
    const e = error('endless-answer');
    expect(e.data.type).toBe('server_error');
    expect(e.message).toMatch(/maxAnswerChars/);
    expect(e.data.partial.content.length).toBeGreaterThan(4000);
    expect(e.data.partial.content.length).toBeLessThanOrEqual(4096 + 100);
  });

  it('replies at [DONE] even when the upstream keeps the connection open', async () => {
    // Alone, after the others: waiting for the response to end would take 2 s (the grace before the socket is dropped).
    const t0 = Date.now();
    const r = await p.request('chat.complete', { model: 'done-then-open', messages: [{ role: 'user', content: 'x' }] });
    expect(r.result.message.content).toBe('quick');
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});

describe('a long Retry-After', () => {
  it('is logged (visible by default) before the wait', async () => {
    const up = await startUpstream();
    up.scripts.set('busy', (_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
      res.end('{"detail":"busy"}');
    });
    const p = new RpcProcess({ home: chatHome(up) });
    try {
      const reply = p.request('chat.complete', { model: 'busy', messages: [{ role: 'user', content: 'x' }] });
      while (!/warn: .*retry 1 of 3 in \d{4,} ms/.test(p.stderr)) await new Promise((r) => p.child.stderr.once('data', r));
      p.notify('$/cancelRequest', { id: 1 });
      expect((await reply).error?.code).toBe(-32800);
    } finally {
      await p.stop();
      await up.close();
    }
  });
});
