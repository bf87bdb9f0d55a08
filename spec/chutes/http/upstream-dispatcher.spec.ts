import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createUpstreamDispatcher, IDLE_SOCKET_MS } from '../../../lib/chutes/http/upstream-dispatcher';
import { Logger } from '../../../lib/log/logger';

/** A server that keeps idle connections `keepAliveMs` (and says so in Keep-Alive, when not 0); counts connections. */
async function serverKeeping(keepAliveMs: number) {
  let connections = 0;
  const server = http.createServer((_req, res) => res.end('ok'));
  server.keepAliveTimeout = keepAliveMs;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, connections: () => connections, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the upstream dispatcher keeps idle connections', () => {
  const { dispatcher, close } = createUpstreamDispatcher({ home: '/nowhere' }, new Logger());
  afterAll(() => close());

  async function get(origin: string): Promise<void> {
    const res = await dispatcher.request({ origin, path: '/', method: 'GET' });
    await res.body.text();
  }

  it('as long as the server says it keeps them, past the 4 s it keeps them without a hint', async () => {
    const server = await serverKeeping(30_000);
    try {
      await get(server.origin);
      await sleep(IDLE_SOCKET_MS + 1_000);
      await get(server.origin);
      expect(server.connections()).toBe(1);
    } finally {
      await server.close();
    }
  }, 15_000);

  it('no longer than the server says (less undici’s 2 s margin)', async () => {
    const server = await serverKeeping(3_000);
    try {
      await get(server.origin);
      await sleep(1_500);
      await get(server.origin);
      expect(server.connections()).toBe(2);
    } finally {
      await server.close();
    }
  });
});
