import * as crypto from 'node:crypto';
import type { ChutesContext } from '../context';
import { DEFAULT_OAUTH_SCOPES } from '../../config/defaults';
import { ChutesError, type ChutesErrorInit } from '../errors';
import type { AuthAuthorizeUrl, AuthCompleteResult, AuthLoginResult, OAuthLoginParams, StoredOAuthProfile } from '../../generated/types';
import { addSecret } from '../../log/redact';
import { isRedirectQuery, listenForCallback, loopbackTarget, type CallbackServer } from './callback-server';
import { exchangeCode, fetchUserinfo } from './idp';
import { authorizeUrl, newPkce, newState, sameSecret } from './pkce';
import { clientSettings, DEFAULT_OAUTH_PROFILE } from './settings';

export const DEFAULT_LOGIN_TIMEOUT_MS = 180_000;

const PASTE_RESOLUTION =
  'Paste the whole address the browser was sent to (http://127.0.0.1:1456/oauth-callback?code=...&state=...), or just its ?code=...&state=... part.';

/**
 * One sign-in waiting for its redirect. The first redirect that carries a code, an error or a
 * state uses it up (from the callback server or from auth.complete, whichever comes first): a
 * state mismatch or a denial then fails the login rather than waiting for another try.
 */
export class PendingLogin {
  private decided = false;
  private resolveCode!: (code: string) => void;
  private rejectCode!: (err: Error) => void;
  /** The authorization code, once a valid redirect arrived. */
  readonly code: Promise<string>;
  private resolveDone!: (outcome: { ok: boolean; message: string }) => void;
  /** How the whole login ended (after the token exchange), for the browser's page. */
  readonly done: Promise<{ ok: boolean; message: string }>;

  constructor(
    readonly loginId: string,
    private readonly state: string,
  ) {
    this.code = new Promise<string>((resolve, reject) => {
      this.resolveCode = resolve;
      this.rejectCode = reject;
    });
    this.code.catch(() => undefined);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Hands over a redirect's query. Returns the error that failed the login, or undefined when it was accepted. */
  deliver(query: URLSearchParams): ChutesError | undefined {
    if (this.decided) {
      return new ChutesError('oauth_failed', { message: `The sign-in ${this.loginId} already received its redirect.` });
    }
    // A probe of the callback URL (no code, state or error) is no redirect: keep waiting for one.
    if (!isRedirectQuery(query)) {
      return new ChutesError('oauth_failed', {
        message: 'That is not a sign-in redirect (it has no code, state or error); still waiting for one.',
      });
    }
    this.decided = true;
    const state = query.get('state');
    const error = query.get('error');
    let failure: ChutesError | undefined;
    if (state !== null && !sameSecret(state, this.state)) {
      failure = new ChutesError('oauth_failed', {
        message:
          'The sign-in failed: state mismatch (the redirect does not belong to this sign-in; it may be from an older attempt or forged).',
      });
    } else if (error !== null) {
      const description = query.get('error_description');
      const init: ChutesErrorInit = {
        message: `The sign-in was ${error === 'access_denied' ? 'denied' : 'refused'} by Chutes (${error}${description ? `: ${description.slice(0, 300)}` : ''}).`,
      };
      if (error === 'invalid_scope') {
        init.resolution = `Ask only for scopes your Chutes app may request (default: ${DEFAULT_OAUTH_SCOPES}; chutes:invoke is needed for chat), with scopes or CHUTES_OAUTH_SCOPES, then sign in again.`;
      }
      failure = new ChutesError('oauth_failed', init);
    } else if (state === null) {
      failure = new ChutesError('oauth_failed', { message: 'The sign-in failed: the redirect has no state, so it cannot be checked.' });
    } else if (!query.get('code')) {
      failure = new ChutesError('oauth_failed', { message: 'The sign-in failed: the redirect has no code.' });
    }
    if (failure) {
      this.rejectCode(failure);
      return failure;
    }
    const code = query.get('code')!;
    addSecret(code);
    this.resolveCode(code);
    return undefined;
  }

  /** Ends the wait without a redirect (timeout, cancellation). */
  abandon(err: Error): void {
    if (this.decided) return;
    this.decided = true;
    this.rejectCode(err);
  }

  finish(outcome: { ok: boolean; message: string }): void {
    this.resolveDone(outcome);
  }
}

export interface LoginIo {
  signal: AbortSignal;
  /** Tells the user where to sign in (the auth.authorizeUrl notification, or a line on the terminal). */
  onAuthorizeUrl(n: AuthAuthorizeUrl): Promise<void> | void;
}

function abortError(signal: AbortSignal): Error {
  const r = signal.reason;
  if (r instanceof Error && r.name === 'AbortError') return r;
  const e = new Error(r instanceof Error ? r.message : 'cancelled');
  e.name = 'AbortError';
  return e;
}

function minutes(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')} minutes` : `${s} s`;
}

/**
 * Sign in with Chutes: PKCE S256 with an independent random state, the loopback callback server
 * (when the redirect URI is loopback http: and the port is free), auth.authorizeUrl, then the wait
 * for the redirect or auth.complete, the code exchange, userinfo (optional), and the stored profile.
 */
export async function oauthLogin(app: ChutesContext, params: OAuthLoginParams, io: LoginIo): Promise<AuthLoginResult> {
  const settings = clientSettings(params, app.config.env);
  if (!settings.clientSecret) {
    app.log.warn(
      'no client secret (clientSecret, CHUTES_CLIENT_SECRET or CHUTES_OAUTH_CLIENT_SECRET): the sign-in can succeed without it, but Chutes refuses every refresh without it, so it will end when the access token expires',
    );
  }
  const profile = params.profile ?? DEFAULT_OAUTH_PROFILE;
  const timeoutMs = params.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS;
  const pkce = newPkce();
  addSecret(pkce.verifier);
  const state = newState();
  const loginId = crypto.randomUUID();
  const url = authorizeUrl(app.config.idpBaseUrl, {
    clientId: settings.clientId,
    redirectUri: settings.redirectUri,
    scopes: settings.scopes,
    state,
    challenge: pkce.challenge,
  });
  const pending = new PendingLogin(loginId, state);
  const registry = app.pendingLogins;
  registry.set(loginId, pending);

  let server: CallbackServer | undefined;
  let timer: NodeJS.Timeout | undefined;
  const onAbort = () => pending.abandon(abortError(io.signal));
  try {
    if (io.signal.aborted) throw abortError(io.signal);
    io.signal.addEventListener('abort', onAbort, { once: true });
    const target = params.listen === false ? undefined : loopbackTarget(settings.redirectUri);
    if (target) {
      try {
        // Listening before telling anyone the URL: the browser can never arrive before the server.
        server = await listenForCallback(target, async (query) => {
          const failure = pending.deliver(query);
          if (failure) return { ok: false, message: failure.message };
          return Promise.race([
            pending.done,
            new Promise<{ ok: boolean; message: string }>((r) =>
              setTimeout(() => r({ ok: true, message: 'The sign-in was received; your program is finishing it.' }), 20_000).unref(),
            ),
          ]);
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        app.log.warn(
          `cannot listen for the sign-in redirect on ${target.host}:${target.port} (${code}); finish the sign-in by pasting the redirect URL (auth.complete)`,
        );
      }
    } else if (params.listen !== false) {
      app.log.info(`the redirect URI ${settings.redirectUri} is not a loopback http: address; finish the sign-in with auth.complete`);
    }
    const expiresAt = new Date(Date.now() + timeoutMs).toISOString();
    timer = setTimeout(
      () =>
        pending.abandon(
          new ChutesError('oauth_failed', {
            message: `The sign-in timed out: no redirect arrived within ${minutes(timeoutMs)}.`,
            resolution: `Start the sign-in again and finish it in the browser in time; on a headless or remote machine, paste the redirect URL (auth.complete). ${PASTE_RESOLUTION} If the browser showed an error page instead of coming back, Chutes refused the redirect URI: it must match one registered for your app exactly (scheme, host, port and path; ${settings.redirectUri} was sent).`,
          }),
        ),
      timeoutMs,
    );
    await io.onAuthorizeUrl({ loginId, url, redirectUri: settings.redirectUri, expiresAt, listening: server !== undefined });

    const code = await pending.code;
    clearTimeout(timer);
    const exchange: Parameters<typeof exchangeCode>[1] = {
      clientId: settings.clientId,
      code,
      redirectUri: settings.redirectUri,
      verifier: pkce.verifier,
    };
    if (settings.clientSecret) exchange.clientSecret = settings.clientSecret;
    const tokens = await exchangeCode(app, exchange, io.signal);
    const account = await fetchUserinfo(app, tokens.accessToken, io.signal);
    const scopes = tokens.scopes ?? settings.scopes;
    const now = new Date().toISOString();
    await app.store.update(
      (data) => {
        const old = data.profiles[profile];
        const stored: StoredOAuthProfile = {
          method: 'oauth',
          accessToken: tokens.accessToken,
          expiresAt: tokens.expiresAt,
          scopes,
          clientId: settings.clientId,
          redirectUri: settings.redirectUri,
          createdAt: old?.createdAt ?? now,
          updatedAt: now,
        };
        if (tokens.refreshToken) stored.refreshToken = tokens.refreshToken;
        if (account) stored.account = account;
        // Chutes skips the secret on the code exchange but checks it on every refresh.
        if (settings.clientSecret) stored.clientSecret = settings.clientSecret;
        data.profiles[profile] = stored;
      },
      { replaceCorrupt: true },
    );
    const who = account?.username ?? account?.sub;
    pending.finish({ ok: true, message: `You are signed in${who ? ` as ${who}` : ''}.` });
    const result: AuthLoginResult = { profile, method: 'oauth', scopes, expiresAt: tokens.expiresAt };
    if (account) result.account = account;
    return result;
  } catch (err) {
    pending.abandon(err as Error);
    pending.finish({ ok: false, message: err instanceof ChutesError ? err.message : 'The sign-in failed.' });
    if (io.signal.aborted) throw abortError(io.signal);
    throw err;
  } finally {
    clearTimeout(timer);
    io.signal.removeEventListener('abort', onAbort);
    registry.delete(loginId);
    if (server) await server.close();
  }
}

/**
 * Reads a pasted redirect: the whole URL, or its query (with or without "?"). A bare code is
 * refused: without the state nothing proves the code belongs to this sign-in.
 */
export function parseRedirect(text: string): URLSearchParams {
  const t = text.trim();
  let query: URLSearchParams | undefined;
  if (/^https?:\/\//i.test(t)) {
    try {
      query = new URL(t).searchParams;
    } catch {
      query = undefined;
    }
  } else if (t.startsWith('?')) query = new URLSearchParams(t.slice(1));
  else if (/^[A-Za-z_]+=/.test(t) && t.includes('=')) query = new URLSearchParams(t);
  if (!query || (!query.has('code') && !query.has('error') && !query.has('state'))) {
    throw new ChutesError('oauth_failed', {
      message: /^[\w.~+/=-]+$/.test(t)
        ? 'That looks like a bare code: give the whole redirect URL (or its ?code=...&state=... query) so that its state can be checked.'
        : 'That is not a sign-in redirect URL: it has no code, state or error.',
      resolution: PASTE_RESOLUTION,
    });
  }
  if (!query.has('state') && query.has('code')) {
    throw new ChutesError('oauth_failed', {
      message: 'The pasted redirect has a code but no state; give the whole redirect URL so that its state can be checked.',
      resolution: PASTE_RESOLUTION,
    });
  }
  return query;
}

/** auth.complete: hands a pasted redirect to the pending login `loginId`. */
export function completeLogin(app: ChutesContext, loginId: string, redirectUrl: string): AuthCompleteResult {
  const pending = app.pendingLogins.get(loginId);
  if (!pending) {
    throw new ChutesError('oauth_failed', {
      message: `No sign-in is waiting with loginId ${JSON.stringify(loginId.slice(0, 80))} (it finished, timed out or was cancelled).`,
      resolution: 'Start the sign-in again (auth.login {method: "oauth"}) and use the loginId of its auth.authorizeUrl notification.',
    });
  }
  const failure = pending.deliver(parseRedirect(redirectUrl));
  if (failure) throw failure;
  return { ok: true };
}
