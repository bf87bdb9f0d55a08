import { DEFAULT_OAUTH_REDIRECT_URI, DEFAULT_OAUTH_SCOPES } from '../../config/defaults';
import { ChutesError } from '../errors';
import type { OAuthLoginParams } from '../../generated/types';
import { addSecret } from '../../log/redact';

export { DEFAULT_OAUTH_PROFILE } from '../credentials';

export interface ClientSettings {
  clientId: string;
  /** Stored with the tokens: Chutes checks it on every refresh, when the env var may be gone. */
  clientSecret?: string;
  redirectUri: string;
  scopes: string[];
}

export const REGISTER_APP_RESOLUTION =
  'Sign in with Chutes needs an app of your own: register a "Sign in with Chutes" app with your Chutes account, with the redirect URI http://127.0.0.1:1456/oauth-callback, then set CHUTES_CLIENT_ID (cid_...) and CHUTES_CLIENT_SECRET (csc_...), or CHUTES_OAUTH_CLIENT_ID and CHUTES_OAUTH_CLIENT_SECRET, or pass clientId and clientSecret. The redirect URI must be registered exactly (scheme, host, port and path). Or use an API key: chutes-rpc onboard --auth-choice chutes-api-key.';

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== '' ? v.trim() : undefined;
}

export function parseScopes(v: string | string[]): string[] {
  const list = Array.isArray(v) ? v.flatMap((s) => s.split(/[\s,]+/)) : v.split(/[\s,]+/);
  return [...new Set(list.filter((s) => s !== ''))];
}

/** The client secret from the environment: CHUTES_CLIENT_SECRET, or the name the official "Sign in with Chutes" app uses. */
export function envClientSecret(env: Record<string, string | undefined>): string | undefined {
  return nonEmpty(env.CHUTES_CLIENT_SECRET) ?? nonEmpty(env.CHUTES_OAUTH_CLIENT_SECRET);
}

/**
 * Client id, secret, redirect URI and scopes: from the params, else from the config's env and the
 * environment (CHUTES_CLIENT_ID / _SECRET, or CHUTES_OAUTH_CLIENT_ID / _SECRET as the official
 * "Sign in with Chutes" app names them).
 */
export function clientSettings(params: Partial<OAuthLoginParams>, env: Record<string, string | undefined>): ClientSettings {
  const clientId = nonEmpty(params.clientId) ?? nonEmpty(env.CHUTES_CLIENT_ID) ?? nonEmpty(env.CHUTES_OAUTH_CLIENT_ID);
  if (!clientId) {
    throw new ChutesError('oauth_failed', {
      message: 'No OAuth client id: pass clientId or set CHUTES_CLIENT_ID (there is no shared public Chutes client).',
      resolution: REGISTER_APP_RESOLUTION,
    });
  }
  const clientSecret = nonEmpty(params.clientSecret) ?? envClientSecret(env);
  addSecret(clientSecret);
  const redirectUri = nonEmpty(params.redirectUri) ?? nonEmpty(env.CHUTES_OAUTH_REDIRECT_URI) ?? DEFAULT_OAUTH_REDIRECT_URI;
  let u: URL;
  try {
    u = new URL(redirectUri);
  } catch {
    throw new ChutesError('oauth_failed', {
      message: `The redirect URI ${JSON.stringify(redirectUri)} is not a valid URL.`,
      resolution: `Use the redirect URI registered for your Chutes app, e.g. ${DEFAULT_OAUTH_REDIRECT_URI}.`,
    });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ChutesError('oauth_failed', {
      message: `The redirect URI must be an http: or https: URL, not ${u.protocol}.`,
      resolution: `Use the redirect URI registered for your Chutes app, e.g. ${DEFAULT_OAUTH_REDIRECT_URI}.`,
    });
  }
  const scopes = parseScopes(params.scopes ?? nonEmpty(env.CHUTES_OAUTH_SCOPES) ?? DEFAULT_OAUTH_SCOPES);
  const s: ClientSettings = { clientId, redirectUri, scopes };
  if (clientSecret) s.clientSecret = clientSecret;
  return s;
}
