import type { App } from '../app';
import { addSecret } from '../log/redact';

export type CredentialSource = 'profile' | 'config' | 'env' | 'store';

export interface Credential {
  method: 'apiKey' | 'oauth';
  /** The bearer token: an API key (cpk_) or an OAuth access token (cak_). */
  token: string;
  source: CredentialSource;
  profile?: string;
}

/**
 * Which credential a call uses, in this order: an explicit profile, the key in the config,
 * CHUTES_API_KEY in the environment, then stored profiles (API key before OAuth).
 */
export class CredentialResolver {
  constructor(protected readonly app: App) {}

  async resolve(opts: { profile?: string; signal?: AbortSignal } = {}): Promise<Credential | undefined> {
    void opts;
    const config = this.app.config;
    if (config.apiKey) return this.found({ method: 'apiKey', token: config.apiKey, source: 'config' });
    const envKey = config.env.CHUTES_API_KEY;
    if (envKey) return this.found({ method: 'apiKey', token: envKey, source: 'env' });
    return undefined;
  }

  /**
   * Called once after the API answered 401 to `credential`: a refreshed credential to retry
   * with, or undefined when there is nothing better.
   */
  async afterUnauthorized(credential: Credential, signal?: AbortSignal): Promise<Credential | undefined> {
    void credential;
    void signal;
    return undefined;
  }

  protected found(c: Credential): Credential {
    addSecret(c.token);
    return c;
  }
}
