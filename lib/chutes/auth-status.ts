import type { AuthStatusParams, AuthStatusResult } from '../generated/types';
import { redact } from '../log/redact';
import type { ChutesContext } from './context';
import type { Selection } from './credentials';
import { ChutesError } from './errors';
import { envClientSecret } from './oauth/settings';

/** Results are not redacted on the way out (errors are): the problem text is, here. */
function problemText(err: ChutesError): string {
  return redact(`${err.message} ${err.data.resolution}`);
}

/**
 * Which credential calls would use (see CredentialResolver for the order), refreshing an expired
 * sign-in first. Never a secret; problems with the credential are reported, not thrown.
 */
export async function statusOf(app: ChutesContext, params: AuthStatusParams, signal?: AbortSignal): Promise<AuthStatusResult> {
  const resolver = app.credentials;
  let profiles: string[] = [];
  try {
    profiles = Object.keys(resolver.store().read().profiles);
  } catch (err) {
    if (!(err instanceof ChutesError)) throw err;
  }
  let sel: ReturnType<typeof resolver.select>;
  try {
    sel = resolver.select(params.profile);
  } catch (err) {
    if (!(err instanceof ChutesError)) throw err;
    return { authenticated: false, method: null, profile: params.profile ?? null, profiles, problem: problemText(err) };
  }
  if (!sel) return { authenticated: false, method: null, profile: null, profiles };
  let problem: string | undefined;
  try {
    sel = await resolver.fresh(sel, signal);
  } catch (err) {
    if (!(err instanceof ChutesError)) throw err;
    problem = problemText(err);
  }
  const c = sel.credential;
  const result: AuthStatusResult = {
    authenticated: problem === undefined,
    method: c.method,
    profile: c.profile ?? null,
    source: c.source,
    profiles,
  };
  const stored = sel.stored;
  if (stored?.method === 'oauth') {
    if (stored.account) result.account = stored.account;
    result.scopes = stored.scopes;
    result.expiresAt = stored.expiresAt;
  }
  if (params.verify && problem === undefined) {
    const check = await verifyNow(app, sel, signal);
    result.verified = check.ok;
    if (!check.ok) {
      // Refused: the credential does not work. Not reachable: nothing is known, it may still work.
      if (check.refused) result.authenticated = false;
      result.problem = redact(check.why);
    }
  }
  if (problem !== undefined) result.problem = problem;
  return result;
}

const RELOGIN = 'Sign in again (chutes-rpc login), or log in with an API key.';

/**
 * Asks Chutes whether the credential works now: an API key at GET /models (which answers 401 to a
 * bad key), an OAuth token at the IdP (GET /models would answer an invalid cak_ token 200 with the
 * public list). When Chutes cannot be asked, nothing is known: verified is false and problem says so.
 */
async function verifyNow(
  app: ChutesContext,
  sel: Selection,
  signal?: AbortSignal,
): Promise<{ ok: true } | { ok: false; refused: boolean; why: string }> {
  const c = sel.credential;
  try {
    if (c.method === 'apiKey') {
      const { verifyApiKey } = require('./api-key') as typeof import('./api-key');
      await verifyApiKey(app, c.token, signal);
      return { ok: true };
    }
    const { checkAccessToken } = require('./oauth/idp') as typeof import('./oauth/idp');
    const stored = sel.stored?.method === 'oauth' ? sel.stored : undefined;
    const secret = stored?.clientSecret ?? envClientSecret(app.config.env);
    const check = await checkAccessToken(
      app,
      c.token,
      { clientId: stored?.clientId ?? '', ...(secret ? { clientSecret: secret } : {}) },
      signal,
    );
    return check.ok ? { ok: true } : { ok: false, refused: true, why: `${check.why}. ${RELOGIN}` };
  } catch (err) {
    if (!(err instanceof ChutesError)) throw err;
    const what = err.type === 'unauthorized' ? err.message : `Could not verify the credential: ${err.message}`;
    return {
      ok: false,
      refused: err.type === 'unauthorized',
      why: `${what.replace(/; nothing was stored\.$/, '.')} ${err.data.resolution}`,
    };
  }
}
