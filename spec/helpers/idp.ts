import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { type Loopback, startLoopback } from './loopback';

export const CLIENT_ID = 'cid_test';
export const CLIENT_SECRET = 'csc_test_fake_secret';
export const API_KEY = 'cpk_test_fake_key';

interface CodeGrant {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scope: string;
  used: boolean;
}

export interface IdpOptions {
  /** /idp/authorize answers error=access_denied. */
  deny?: boolean;
  /** expires_in of issued tokens (default 3600). */
  expiresIn?: unknown;
  /** Delay before answering a refresh (to make concurrent refreshes overlap). */
  refreshDelayMs?: number;
  /** A refresh answer without refresh_token (no rotation). */
  omitRefreshToken?: boolean;
  /** /idp/userinfo answers 500. */
  userinfoFails?: boolean;
  /** /idp/token/revoke answers 500. */
  revokeFails?: boolean;
  /** /idp/authorize redirects back with error=invalid_scope (an unknown or privileged scope). */
  invalidScope?: boolean;
  /** /idp/userinfo answers 403 (a token without openid, profile or account:read): introspect must tell. */
  userinfoForbidden?: boolean;
}

/**
 * A loopback IdP behaving like the Chutes IdP: /idp/authorize redirects to the redirect URI with code
 * and state (or error=access_denied), /idp/token does authorization_code (PKCE S256, client
 * secret required) and refresh_token with rotation (a used refresh token is invalid_grant),
 * /idp/userinfo, /idp/token/revoke.
 */
export class FakeIdp {
  loopback!: Loopback;
  readonly options: IdpOptions;
  readonly codes = new Map<string, CodeGrant>();
  /** Refresh tokens and whether they can still be used. */
  readonly refreshTokens = new Map<string, boolean>();
  readonly accessTokens = new Set<string>();
  readonly revoked: Array<{ token: string; hint: string | null }> = [];
  readonly tokenRequests: URLSearchParams[] = [];
  refreshCalls = 0;
  private n = 0;

  constructor(options: IdpOptions = {}) {
    this.options = options;
  }

  get url(): string {
    return this.loopback.url;
  }

  async start(): Promise<this> {
    this.loopback = await startLoopback((req, res) => this.handle(req, res));
    return this;
  }

  close(): Promise<void> {
    return this.loopback.close();
  }

  /** Mints a token pair as a login would have (for seeding a store). */
  issue(): { accessToken: string; refreshToken: string } {
    this.n++;
    const rnd = crypto.randomBytes(6).toString('hex');
    const accessToken = `cak_test_${this.n}_${rnd}`;
    const refreshToken = `crt_test_${this.n}_${rnd}`;
    this.accessTokens.add(accessToken);
    this.refreshTokens.set(refreshToken, true);
    return { accessToken, refreshToken };
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async handle(req: http.IncomingMessage & { body: string }, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    if (req.method === 'GET' && url.pathname === '/idp/authorize') return this.authorize(url, res);
    if (req.method === 'POST' && url.pathname === '/idp/token') return this.token(req, res);
    if (req.method === 'GET' && url.pathname === '/idp/userinfo') {
      if (this.options.userinfoFails) return this.json(res, 500, { detail: 'userinfo is down' });
      const auth = req.headers.authorization ?? '';
      const token = auth.replace(/^Bearer /, '');
      if (!this.accessTokens.has(token)) return this.json(res, 401, { detail: 'Invalid token or user not found' });
      if (this.options.userinfoForbidden) return this.json(res, 403, { detail: 'Insufficient scope' });
      return this.json(res, 200, { sub: 'user-123', username: 'testuser', created_at: '2025-01-01T00:00:00Z' });
    }
    if (req.method === 'POST' && url.pathname === '/idp/token/introspect') {
      const token = new URLSearchParams(req.body).get('token') ?? '';
      if (!this.accessTokens.has(token)) return this.json(res, 200, { active: false });
      return this.json(res, 200, {
        active: true,
        scope: 'chutes:invoke',
        sub: 'user-123',
        username: 'testuser',
        token_type: 'access_token',
      });
    }
    if (req.method === 'POST' && url.pathname === '/idp/token/revoke') {
      if (this.options.revokeFails) return this.json(res, 500, { detail: 'revoke is down' });
      const form = new URLSearchParams(req.body);
      const token = form.get('token') ?? '';
      this.revoked.push({ token, hint: form.get('token_type_hint') });
      this.accessTokens.delete(token);
      if (this.refreshTokens.has(token)) this.refreshTokens.set(token, false);
      return this.json(res, 200, { revoked: true });
    }
    this.json(res, 404, { detail: 'Not Found' });
  }

  private authorize(url: URL, res: http.ServerResponse): void {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri');
    if (
      q.get('response_type') !== 'code' ||
      q.get('client_id') !== CLIENT_ID ||
      q.get('code_challenge_method') !== 'S256' ||
      !q.get('code_challenge') ||
      !q.get('state') ||
      !redirectUri
    ) {
      return this.json(res, 400, { detail: 'invalid authorize request' });
    }
    const back = new URL(redirectUri);
    if (this.options.deny) {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user denied the request');
    } else if (this.options.invalidScope) {
      back.searchParams.set('error', 'invalid_scope');
      back.searchParams.set('error_description', 'Unknown or unauthorized scope: admin');
    } else {
      const code = `code_${crypto.randomBytes(12).toString('hex')}`;
      this.codes.set(code, {
        clientId: CLIENT_ID,
        redirectUri,
        challenge: q.get('code_challenge')!,
        scope: q.get('scope') ?? '',
        used: false,
      });
      back.searchParams.set('code', code);
    }
    back.searchParams.set('state', q.get('state')!);
    res.writeHead(302, { location: back.toString() });
    res.end();
  }

  private tokens(scope: string, withRefresh = true): Record<string, unknown> {
    const { accessToken, refreshToken } = this.issue();
    const body: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.options.expiresIn ?? 3600,
      scope,
    };
    if (withRefresh) body.refresh_token = refreshToken;
    else this.refreshTokens.delete(refreshToken);
    return body;
  }

  private async token(req: http.IncomingMessage & { body: string }, res: http.ServerResponse): Promise<void> {
    if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      return this.json(res, 400, { error: 'invalid_request', error_description: 'form encoding expected' });
    }
    const form = new URLSearchParams(req.body);
    this.tokenRequests.push(form);
    if (form.get('client_id') !== CLIENT_ID || form.get('client_secret') !== CLIENT_SECRET) {
      return this.json(res, 401, { error: 'invalid_client' });
    }
    const grant = form.get('grant_type');
    if (grant === 'authorization_code') {
      const g = this.codes.get(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
      if (!g || g.used || g.redirectUri !== form.get('redirect_uri') || g.challenge !== challenge) {
        return this.json(res, 400, { error: 'invalid_grant' });
      }
      g.used = true;
      return this.json(res, 200, this.tokens(g.scope));
    }
    if (grant === 'refresh_token') {
      this.refreshCalls++;
      if (this.options.refreshDelayMs) await new Promise((r) => setTimeout(r, this.options.refreshDelayMs));
      const old = form.get('refresh_token') ?? '';
      if (this.refreshTokens.get(old) !== true) return this.json(res, 400, { error: 'invalid_grant' });
      this.refreshTokens.set(old, false);
      return this.json(res, 200, this.tokens('openid profile chutes:invoke', !this.options.omitRefreshToken));
    }
    this.json(res, 400, { error: 'unsupported_grant_type' });
  }
}

export async function startIdp(options: IdpOptions = {}): Promise<FakeIdp> {
  return new FakeIdp(options).start();
}

/** A port that was free a moment ago (for a redirect URI the server under test must listen on). */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface BrowseResult {
  status: number;
  body: string;
  /** Every URL visited, in order. */
  visited: string[];
}

/** Follows redirects like a browser: GET each Location until an answer that is not a redirect. */
export async function browse(start: string, maxHops = 5): Promise<BrowseResult> {
  const visited: string[] = [];
  let url = start;
  for (let hop = 0; hop <= maxHops; hop++) {
    visited.push(url);
    const r = await get(url);
    if (r.status >= 300 && r.status < 400 && r.location) {
      url = new URL(r.location, url).toString();
      continue;
    }
    return { status: r.status, body: r.body, visited };
  }
  throw new Error(`too many redirects from ${start}`);
}

/** One GET, not following redirects. */
export function get(url: string): Promise<{ status: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, ...(res.headers.location ? { location: res.headers.location } : {}) }),
      );
    });
    req.on('error', reject);
  });
}

/** The redirect the IdP sends the browser to, without following it (what a user would copy). */
export async function redirectFromIdp(authorizeUrl: string): Promise<string> {
  const r = await get(authorizeUrl);
  if (!r.location) throw new Error(`the IdP did not redirect (HTTP ${r.status}: ${r.body})`);
  return r.location;
}

/** A fake Chutes API: GET /models accepts the given bearer tokens (401 for others). */
export async function startApi(accept: (token: string) => boolean): Promise<Loopback> {
  return startLoopback((req, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!accept(token)) {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ detail: "Can't find a user with that api key in our db :(" }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data: [] }));
  });
}

/** The config that points the adapter at the loopback API and IdP. */
export function loopbackConfig(apiUrl: string, idpUrl: string): object {
  return { models: { providers: { chutes: { baseUrl: `${apiUrl}/v1`, idpBaseUrl: idpUrl } } } };
}

/** Writes a credential store as a previous login would have. */
export function writeStore(home: string, profiles: Record<string, unknown>): string {
  const file = path.join(home, 'credentials.json');
  fs.writeFileSync(file, JSON.stringify({ version: 1, profiles }, null, 2), { mode: 0o600 });
  return file;
}

export function readStore(home: string): { version: number; profiles: Record<string, any> } {
  return JSON.parse(fs.readFileSync(path.join(home, 'credentials.json'), 'utf8'));
}

/** A stored OAuth profile holding `tokens`, expired unless `expiresAt` says otherwise. */
export function oauthProfile(
  tokens: { accessToken: string; refreshToken?: string },
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    method: 'oauth',
    accessToken: tokens.accessToken,
    ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
    expiresAt: new Date(Date.now() - 60_000).toISOString(),
    scopes: ['openid', 'profile', 'chutes:invoke'],
    account: { sub: 'user-123', username: 'testuser' },
    clientId: CLIENT_ID,
    createdAt: now,
    updatedAt: now,
    ...extra,
  };
}
