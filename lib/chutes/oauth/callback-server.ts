import * as http from 'node:http';
import { isLoopbackHost } from '../../config/load';
import { redact } from '../../log/redact';

export interface CallbackTarget {
  /** The address to bind: a loopback address only. */
  host: string;
  port: number;
  path: string;
}

/** Where to listen for a redirect URI, or undefined when it is not plain http: on a loopback host. */
export function loopbackTarget(redirectUri: string): CallbackTarget | undefined {
  let u: URL;
  try {
    u = new URL(redirectUri);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' || !isLoopbackHost(u.hostname)) return undefined;
  const name = u.hostname.replace(/^\[|\]$/g, '');
  // "localhost" is bound as 127.0.0.1: browsers fall back to it when ::1 refuses.
  const host = name.toLowerCase() === 'localhost' ? '127.0.0.1' : name;
  return { host, port: u.port ? Number(u.port) : 80, path: u.pathname || '/' };
}

export interface CallbackOutcome {
  ok: boolean;
  /** Shown to the person in the browser; never a secret. */
  message: string;
}

export interface CallbackServer {
  close(): Promise<void>;
}

/** What the callback server allows: a browser needs a connection or two, for a few seconds. */
export interface CallbackLimits {
  /** Connections open at once; more are closed as they arrive. */
  maxConnections: number;
  /** Until a request's headers are complete (a stalled partial header is closed then). */
  headersTimeoutMs: number;
  /** A connection silent this long is closed. */
  idleTimeoutMs: number;
}

export const CALLBACK_LIMITS: CallbackLimits = { maxConnections: 8, headersTimeoutMs: 5_000, idleTimeoutMs: 10_000 };

/** Whether a Host header names a loopback host on `port` (anything else may be a DNS-rebinding page). */
export function isLoopbackHostHeader(host: string | undefined, port: number): boolean {
  if (!host) return false;
  let u: URL;
  try {
    u = new URL(`http://${host}`);
  } catch {
    return false;
  }
  return isLoopbackHost(u.hostname) && (u.port === '' ? 80 : Number(u.port)) === port && u.username === '' && u.pathname === '/';
}

/** Whether a query is what the IdP redirects with: it has a code, a state or an error. */
export function isRedirectQuery(query: URLSearchParams): boolean {
  return query.has('code') || query.has('state') || query.has('error');
}

/**
 * Listens on a loopback address for the one redirect of a login: only GET on exactly `target.path`
 * with a loopback Host header counts (anything else is 4xx and does not use it up); the first such
 * request is handed to `onRedirect`, answered with a small success or failure page, and the server
 * then closes. A few connections at once, a header timeout and an idle timeout (`limits`) keep a
 * local flood from holding descriptors. Rejects with the listen error (EADDRINUSE, EACCES, ...).
 */

export async function listenForCallback(
  target: CallbackTarget,
  onRedirect: (query: URLSearchParams) => Promise<CallbackOutcome>,
  limits: CallbackLimits = CALLBACK_LIMITS,
): Promise<CallbackServer> {
  let used = false;
  let closed: Promise<void> | undefined;
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.headersTimeoutMs * 2,
      // Node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.headersTimeoutMs / 4)),
      keepAliveTimeout: 1000,
    },
    (req, res) => {
      if (!isLoopbackHostHeader(req.headers.host, target.port)) {
        return send(res, 421, page(false, 'This address answers only requests for its loopback host.'));
      }
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://callback.invalid');
      } catch {
        return send(res, 400, page(false, 'That is not a valid request.'));
      }
      if (req.method !== 'GET' || url.pathname !== target.path) return send(res, 404, 'Not found\n', 'text/plain');
      if (used) return send(res, 410, page(false, 'This sign-in link was already used. Start the sign-in again.'));
      // A probe of the URL is no redirect and does not use the login up.
      if (!isRedirectQuery(url.searchParams))
        return send(res, 400, page(false, 'This is not a sign-in redirect (no code, state or error).'));
      used = true;
      void onRedirect(url.searchParams)
        .catch((err: Error): CallbackOutcome => ({ ok: false, message: err.message }))
        .then((o) => send(res, o.ok ? 200 : 400, page(o.ok, o.message), 'text/html', () => void close()));
    },
  );
  server.maxConnections = limits.maxConnections;
  server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    });
    return closed;
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: target.port, host: target.host, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  return { close };
}

function send(res: http.ServerResponse, status: number, body: string, type = 'text/html', after?: () => void): void {
  res.writeHead(status, {
    'content-type': `${type}; charset=utf-8`,
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
    'x-content-type-options': 'nosniff',
    connection: 'close',
  });
  res.end(body, after);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function page(ok: boolean, message: string): string {
  const title = ok ? 'Signed in to Chutes' : 'Sign-in failed';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem;color:${ok ? '#1a7f37' : '#b42318'}}</style>
</head><body><h1>${title}</h1><p>${escapeHtml(redact(message))}</p><p>${ok ? 'You can close this tab and return to your program.' : 'Return to your program for details.'}</p></body></html>
`;
}
