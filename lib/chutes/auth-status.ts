import type { AuthStatusParams, AuthStatusResult } from '../generated/types';
import { redact } from '../log/redact';
import type { ChutesContext } from './context';
import { ChutesError } from './errors';

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
  if (problem !== undefined) result.problem = problem;
  return result;
}
