import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { ConnectionAhead } from '../../../lib/chutes/http/connection-ahead';
import { createUpstreamDispatcher } from '../../../lib/chutes/http/upstream-dispatcher';
import { Logger } from '../../../lib/log/logger';
import { startLoopback } from '../../helpers/loopback';
import { cleanEnv } from '../../helpers/rpc-process';
import { testTlsOptions } from '../../helpers/tee';

/** A loopback server answering 'ok', over https by the name localhost when `secure`; with its port. */
async function serverAnsweringOk(secure: boolean) {
  const server = await startLoopback((_req, res) => res.end('ok'), secure ? testTlsOptions() : undefined);
  return Object.assign(server, { port: Number(new URL(server.url).port) });
}

/**
 * Runs `body` with a connection opened ahead (closed when not taken in `untakenMs`) to a fresh
 * server (serverAnsweringOk); the server is closed after.
 */
async function withConnectionAhead(
  secure: boolean,
  body: (ahead: ConnectionAhead, server: Awaited<ReturnType<typeof serverAnsweringOk>>) => Promise<void>,
  untakenMs?: number,
): Promise<void> {
  const server = await serverAnsweringOk(secure);
  const ahead = new ConnectionAhead(untakenMs);
  try {
    ahead.open(server.url);
    await body(ahead, server);
  } finally {
    await server.close();
  }
}

const until = async (what: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

const DIST = path.join(__dirname, '..', '..', '..', 'dist', 'chutes');

/**
 * Runs `requests` (origins, in order) through the upstream dispatcher with a connection opened
 * ahead to `aheadUrl`, in a node of its own: one that accepts the servers' self-signed certificate
 * (NODE_TLS_REJECT_UNAUTHORIZED=0, which node reads from its own environment, not this one's).
 * Resolves with each answer's text.
 */
async function requestThroughAhead(aheadUrl: string, origins: string[]): Promise<string[]> {
  const script = `
    const { ConnectionAhead } = require(${JSON.stringify(path.join(DIST, 'http', 'connection-ahead.js'))});
    const { createUpstreamDispatcher } = require(${JSON.stringify(path.join(DIST, 'http', 'upstream-dispatcher.js'))});
    const ahead = new ConnectionAhead();
    const { dispatcher, close } = createUpstreamDispatcher({ home: '/nowhere' }, { debug() {}, info() {}, warn() {}, error() {} }, ahead);
    (async () => {
      ahead.open(process.argv[1]);
      await new Promise((r) => setTimeout(r, 300));
      const texts = [];
      for (const origin of JSON.parse(process.argv[2])) {
        const res = await dispatcher.request({ origin, path: '/v1/models', method: 'GET' });
        texts.push(await res.body.text());
      }
      await close();
      console.log(JSON.stringify(texts));
    })();
  `;
  const child = spawn(process.execPath, ['-e', script, aheadUrl, JSON.stringify(origins)], {
    env: cleanEnv({ NODE_TLS_REJECT_UNAUTHORIZED: '0' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`exited ${String(code)}: ${err}`);
  return JSON.parse(out) as string[];
}

describe('a connection opened ahead of the first request', () => {
  it('carries the first https request to its host: the server sees no other connection', async () => {
    const server = await serverAnsweringOk(true);
    try {
      expect(await requestThroughAhead(server.url, [server.url])).toEqual(['ok']);
      expect(server.connections).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('is closed, not handed on, when the first connection is to another host or port', () =>
    withConnectionAhead(true, async (ahead, server) => {
      await until(() => server.connections.length === 1);
      expect(ahead.take('localhost', server.port + 1)).toBeUndefined();
      await until(() => server.closedConnections.length === 1);
    }));

  it('is handed on once its host name is looked up, and the connections meanwhile wait as long', () =>
    withConnectionAhead(true, async (ahead, server) => {
      const taken = ahead.take('localhost', server.port)!;
      expect(taken.socket.destroyed).toBe(false);
      expect(ahead.waiting).toBe(taken.addressed);
      let lookedUp = false;
      taken.socket.once('lookup', () => (lookedUp = true));
      await taken.addressed;
      expect(lookedUp).toBe(true);
      expect(ahead.waiting).toBeUndefined();
      taken.socket.destroy();
    }));

  it('is closed when nothing takes it in time', () =>
    withConnectionAhead(
      true,
      async (ahead, server) => {
        await until(() => server.connections.length === 1);
        await until(() => server.closedConnections.length === 1);
        expect(ahead.take('localhost', server.port)).toBeUndefined();
      },
      100,
    ));

  it('is not opened to an upstream over plain http (undici takes a socket only to start TLS on it)', () =>
    withConnectionAhead(false, async (ahead, server) => {
      await new Promise((r) => setTimeout(r, 200));
      expect(server.connections).toHaveLength(0);
      expect(ahead.take('localhost', server.port)).toBeUndefined();
    }));

  it('that failed is not handed on: undici connects again, and reports its own failure', async () => {
    const server = await serverAnsweringOk(true);
    const { port } = server;
    await server.close();
    const ahead = new ConnectionAhead();
    const { dispatcher, close } = createUpstreamDispatcher({ home: '/nowhere' }, new Logger(), ahead);
    try {
      ahead.open(`https://localhost:${port}/v1`);
      await new Promise((r) => setTimeout(r, 200));
      await expect(dispatcher.request({ origin: `https://localhost:${port}`, path: '/', method: 'GET' })).rejects.toMatchObject({
        code: 'ECONNREFUSED',
      });
      expect(ahead.take('localhost', port)).toBeUndefined();
    } finally {
      await close();
    }
  });
});
