import * as crypto from 'node:crypto';

export function base64url(buf: Buffer): string {
  return buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export interface Pkce {
  /** 43 characters from 32 random bytes (RFC 7636 allows 43 to 128). */
  verifier: string;
  challenge: string;
  method: 'S256';
}

/** A fresh PKCE pair; the IdP accepts S256 only. */
export function newPkce(): Pkce {
  const verifier = base64url(crypto.randomBytes(32));
  return { verifier, challenge: s256(verifier), method: 'S256' };
}

export function s256(verifier: string): string {
  return base64url(crypto.createHash('sha256').update(verifier, 'ascii').digest());
}

/** The state: random and independent of the verifier (never derived from it). */
export function newState(): string {
  return base64url(crypto.randomBytes(24));
}

/** Compares two strings in constant time (for the state). */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

export interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state: string;
  challenge: string;
}

/** `{idpBaseUrl}/idp/authorize?response_type=code&client_id&redirect_uri&scope&state&code_challenge&code_challenge_method=S256`. */
export function authorizeUrl(idpBaseUrl: string, r: AuthorizeRequest): string {
  const u = new URL(`${idpBaseUrl.replace(/\/+$/, '')}/idp/authorize`);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('client_id', r.clientId);
  u.searchParams.set('redirect_uri', r.redirectUri);
  u.searchParams.set('scope', r.scopes.join(' '));
  u.searchParams.set('state', r.state);
  u.searchParams.set('code_challenge', r.challenge);
  u.searchParams.set('code_challenge_method', 'S256');
  return u.toString();
}
