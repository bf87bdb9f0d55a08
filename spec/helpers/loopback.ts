import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Loopback {
  url: string;
  server: http.Server;
  requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string; remotePort?: number | undefined }>;
  /** The client's port of each connection, in the order they were accepted. */
  connections: number[];
  /** The same, in the order they closed. */
  closedConnections: number[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 for tests; `handler` may write SSE, stall, or drop the connection.
 * With `tls` (a certificate and key, PEM), an https one, reached by the name localhost.
 */
export async function startLoopback(
  handler: (req: http.IncomingMessage & { body: string }, res: http.ServerResponse) => unknown,
  tls?: { cert: string; key: string },
): Promise<Loopback> {
  const requests: Loopback['requests'] = [];
  const sockets = new Set<import('node:net').Socket>();
  const connections: number[] = [];
  const closedConnections: number[] = [];
  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body, remotePort: req.socket.remotePort });
      Promise.resolve(handler(Object.assign(req, { body }), res)).catch((err) => {
        res.statusCode = 500;
        res.end(String(err));
      });
    });
  };
  const server = tls ? (require('node:https') as typeof import('node:https')).createServer(tls, listener) : http.createServer(listener);
  server.on('connection', (s: import('node:net').Socket) => {
    sockets.add(s);
    const port = s.remotePort ?? 0;
    connections.push(port);
    s.on('close', () => {
      sockets.delete(s);
      closedConnections.push(port);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    server,
    requests,
    connections,
    closedConnections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Writes a config file into `home` and returns its path. */
export function writeConfig(home: string, config: unknown): string {
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const file = path.join(home, 'config.json5');
  fs.writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}
