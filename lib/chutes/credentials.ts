import { raceAbort } from '../util/abort';
import type { ChutesContext } from './context';
import { ChutesError } from './errors';
import type { StoredOAuthProfile, StoredProfile } from '../generated/types';
import { addSecret } from '../log/redact';
import type { CredentialStore } from '../store/credential-store';
import { envClientSecret } from './oauth/settings';

export type CredentialSource = 'profile' | 'config' | 'env' | 'store';

export interface Credential {
  method: 'apiKey' | 'oauth';
  /** The bearer token: an API key (cpk_) or an OAuth access token (cak_). */
  token: string;
  source: CredentialSource;
  profile?: string;
  /** OAuth: when the access token is treated as expired (already 5 minutes early). */
  expiresAt?: string;
}

/** A credential with what is stored about it (for auth.status). */
export interface Selection {
  credential: Credential;
  stored?: StoredProfile;
}

export const DEFAULT_API_KEY_PROFILE = 'chutes:default';
export const DEFAULT_OAUTH_PROFILE = 'chutes:oauth';

export function isExpired(p: StoredOAuthProfile, now = Date.now()): boolean {
  const at = Date.parse(p.expiresAt);
  return !Number.isFinite(at) || at <= now;
}

/** The stored profile of one method that calls use: the default name first, then the most recently stored. */
export function pickStored(profiles: Record<string, StoredProfile>, method: 'apiKey' | 'oauth'): string | undefined {
  const preferred = method === 'apiKey' ? DEFAULT_API_KEY_PROFILE : DEFAULT_OAUTH_PROFILE;
  if (profiles[preferred]?.method === method) return preferred;
  let best: string | undefined;
  for (const [name, p] of Object.entries(profiles)) {
    if (p.method !== method) continue;
    if (best === undefined || (p.updatedAt ?? '') > (profiles[best]!.updatedAt ?? '')) best = name;
  }
  return best;
}

/**
 * Which credential a call uses, in this order:
 *   1. an explicit profile (`resolve({profile})`, e.g. auth.status {profile});
 *   2. the API key in the config (models.providers.chutes.apiKey);
 *   3. CHUTES_API_KEY (the config's env block, then the process environment);
 *   4. a stored API-key profile (chutes:default first, else the most recently stored);
 *   5. a stored Sign in with Chutes profile (chutes:oauth first, else the most recently stored).
 * A stored OAuth access token past its expiresAt is refreshed before it is returned. After a 401
 * from the API, callers hand the credential to afterUnauthorized once and retry with what it gives.
 *
 * Refreshes are done under the store's cross-process lock, and the profile is read again once the
 * lock is held: when another process has refreshed in the meantime, its tokens are used and the
 * IdP is not called again. Within one process, concurrent refreshes of a profile share one call.
 * A refresh is never aborted half-way by a cancelled call (the rotated refresh token would be
 * lost); the call just stops waiting for it.
 */
export class CredentialResolver {
  private readonly refreshing = new Map<string, Promise<StoredOAuthProfile>>();

  constructor(protected readonly app: ChutesContext) {}

  store(): CredentialStore {
    return this.app.store;
  }

  /**
   * The credential to use, or undefined when there is none. Throws auth_required for an unknown explicit
   * profile or a corrupt store, unauthorized when an expired sign-in cannot be refreshed (log in again).
   * `refresh: false` returns an expired OAuth token as it is (for reporting only).
   */
  async resolve(opts: { profile?: string; signal?: AbortSignal; refresh?: boolean } = {}): Promise<Credential | undefined> {
    const sel = this.select(opts.profile);
    if (!sel) return undefined;
    if (opts.refresh === false) return sel.credential;
    return (await this.fresh(sel, opts.signal)).credential;
  }

  /** Which credential applies, without refreshing anything. */
  select(profile?: string): Selection | undefined {
    if (profile !== undefined) {
      const profiles = this.store().read().profiles;
      const stored = profiles[profile];
      if (!stored) {
        const names = Object.keys(profiles);
        throw new ChutesError('auth_required', {
          message: `No stored profile ${JSON.stringify(profile)}${names.length ? ` (stored: ${names.join(', ')})` : ' (nothing is stored)'}.`,
        });
      }
      return this.fromStored(profile, stored, 'profile');
    }
    const config = this.app.config;
    if (config.apiKey) return { credential: this.found({ method: 'apiKey', token: config.apiKey, source: 'config' }) };
    const envKey = config.env.CHUTES_API_KEY?.trim();
    if (envKey) return { credential: this.found({ method: 'apiKey', token: envKey, source: 'env' }) };
    const profiles = this.store().read().profiles;
    const name = pickStored(profiles, 'apiKey') ?? pickStored(profiles, 'oauth');
    return name ? this.fromStored(name, profiles[name]!, 'store') : undefined;
  }

  /** The stored profile calls would use (API key before OAuth), ignoring config and environment keys. */
  storedChoice(): string | undefined {
    const profiles = this.store().read().profiles;
    return pickStored(profiles, 'apiKey') ?? pickStored(profiles, 'oauth');
  }

  /** The selection with an expired OAuth access token refreshed. */
  async fresh(sel: Selection, signal?: AbortSignal): Promise<Selection> {
    const stored = sel.stored;
    if (!stored || stored.method !== 'oauth' || !isExpired(stored)) return sel;
    const refreshed = await raceAbort(this.refresh(sel.credential.profile!, undefined), signal);
    return this.fromStored(sel.credential.profile!, refreshed, sel.credential.source);
  }

  /**
   * Called once after the API answered 401 to `credential`: a refreshed credential to retry
   * with, or undefined when there is nothing better (API keys). Throws unauthorized when the sign-in
   * cannot be refreshed (log in again).
   */
  async afterUnauthorized(credential: Credential, signal?: AbortSignal): Promise<Credential | undefined> {
    if (credential.method !== 'oauth' || !credential.profile) return undefined;
    const refreshed = await raceAbort(this.refresh(credential.profile, credential.token), signal);
    return this.fromStored(credential.profile, refreshed, credential.source).credential;
  }

  /**
   * Refreshes `profile` unless that is no longer needed once the lock is held: its access token
   * is no longer `staleToken` (after a 401) or no longer expired (before a call).
   */
  private refresh(profile: string, staleToken: string | undefined): Promise<StoredOAuthProfile> {
    let running = this.refreshing.get(profile);
    if (!running) {
      running = this.refreshLocked(profile, staleToken).finally(() => this.refreshing.delete(profile));
      running.catch(() => undefined);
      this.refreshing.set(profile, running);
    }
    return running;
  }

  private refreshLocked(profile: string, staleToken: string | undefined): Promise<StoredOAuthProfile> {
    return this.store().update(async (data) => {
      const p = data.profiles[profile];
      if (!p || p.method !== 'oauth') {
        throw new ChutesError('auth_required', { message: `The profile ${profile} is no longer stored (logged out in another process?).` });
      }
      const usable = (staleToken === undefined || p.accessToken !== staleToken) && !isExpired(p);
      if (usable) {
        this.app.log.debug(`profile ${profile}: already refreshed by another process`);
        return p;
      }
      if (!p.refreshToken) {
        throw new ChutesError('unauthorized', {
          message: `The sign-in of profile ${profile} has expired and there is no refresh token; log in again.`,
          resolution: 'Sign in again: chutes-rpc login (or auth.login {method: "oauth"}).',
        });
      }
      const { refreshTokens } = require('./oauth/idp') as typeof import('./oauth/idp');
      const secret = p.clientSecret ?? envClientSecret(this.app.config.env);
      addSecret(secret);
      const req: Parameters<typeof refreshTokens>[1] = { clientId: p.clientId, refreshToken: p.refreshToken, profile };
      if (secret) req.clientSecret = secret;
      // Deliberately no caller signal: the old refresh token dies as soon as the IdP answers.
      const t = await refreshTokens(this.app, req);
      const updated: StoredOAuthProfile = {
        ...p,
        accessToken: t.accessToken,
        // Rotation: the new refresh token replaces the old one, which is kept only when none came back.
        refreshToken: t.refreshToken ?? p.refreshToken,
        expiresAt: t.expiresAt,
        scopes: t.scopes ?? p.scopes,
        updatedAt: new Date().toISOString(),
      };
      data.profiles[profile] = updated;
      this.app.log.debug(`profile ${profile}: access token refreshed`);
      return updated;
    });
  }

  private fromStored(name: string, p: StoredProfile, source: CredentialSource): Selection {
    if (p.method === 'apiKey') return { credential: this.found({ method: 'apiKey', token: p.apiKey, source, profile: name }), stored: p };
    return { credential: this.found({ method: 'oauth', token: p.accessToken, source, profile: name, expiresAt: p.expiresAt }), stored: p };
  }

  protected found(c: Credential): Credential {
    addSecret(c.token);
    return c;
  }
}
