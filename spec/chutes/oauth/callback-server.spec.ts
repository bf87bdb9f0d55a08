import * as net from 'node:net';
import { type CallbackOutcome, isLoopbackHostHeader, listenForCallback } from '../../../lib/chutes/oauth/callback-server';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

const closed = (s: net.Socket) => new Promise<void>((r) => (s.destroyed ? r() : (s.resume(), s.once('close', () => r()))));

async function get(port: number, path: string, host: string): Promise<string> {
  const s = await connect(port);
  s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  let text = '';
  s.setEncoding('utf8');
  s.on('data', (c: string) => (text += c));
  await closed(s);
  return text;
}

describe('the OAuth callback server', () => {
  it('accepts only loopback Host headers on its port', () => {
    expect(isLoopbackHostHeader('127.0.0.1:1456', 1456)).toBe(true);
    expect(isLoopbackHostHeader('localhost:1456', 1456)).toBe(true);
    expect(isLoopbackHostHeader('[::1]:1456', 1456)).toBe(true);
    expect(isLoopbackHostHeader('evil.example:1456', 1456)).toBe(false);
    expect(isLoopbackHostHeader('127.0.0.1:80', 1456)).toBe(false);
    expect(isLoopbackHostHeader(undefined, 1456)).toBe(false);
  });

  it('caps connections, closes a stalled partial header, and ignores a rebinding Host without using the login up', async () => {
    const port = await freePort();
    const seen: URLSearchParams[] = [];
    const server = await listenForCallback(
      { host: '127.0.0.1', port, path: '/cb' },
      async (q): Promise<CallbackOutcome> => (seen.push(q), { ok: true, message: 'done' }),
      { maxConnections: 4, headersTimeoutMs: 300, idleTimeoutMs: 2000 },
    );
    try {
      const flood = await Promise.all(Array.from({ length: 12 }, () => connect(port)));
      // Over the cap: closed as they arrive. The first four stall inside a header and are closed too.
      for (const s of flood.slice(0, 4)) s.write('GET /cb HTTP/1.1\r\nHost: 127.0.0.1');
      await Promise.all(flood.map(closed));

      const rebound = await get(port, '/cb?code=c&state=s', `evil.example:${port}`);
      expect(rebound).toMatch(/^HTTP\/1.1 421/);
      expect(seen).toHaveLength(0);
      const ok = await get(port, '/cb?code=c&state=s', `localhost:${port}`);
      expect(ok).toMatch(/^HTTP\/1.1 200/);
      expect(seen.map((q) => q.get('code'))).toEqual(['c']);
    } finally {
      await server.close();
    }
  }, 15_000);
});
