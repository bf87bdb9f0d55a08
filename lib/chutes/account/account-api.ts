import type { ChutesContext } from '../context';
import type { Credential } from '../credentials';
import { ChutesError } from '../errors';
import { requestHeaders } from '../http/headers';
import { errorFromResponse } from '../http/response-errors';
import { upstreamRequest } from '../http/upstream-request';

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export interface AccountCall {
  method: 'GET' | 'POST';
  /** A path under {apiBaseUrl}, its parts already encoded. */
  path: string;
  credential: Credential;
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** Replaces the resolution of a 404 (which would otherwise talk of model ids). */
  notFound?: string;
}

/** The credential account calls use: the profile asked for, else the one chat calls use; auth_required when there is none. */
export async function accountCredential(ctx: ChutesContext, profile: string | undefined, signal?: AbortSignal): Promise<Credential> {
  const credential = await ctx.credentials.resolve(
    profile !== undefined ? { profile, ...(signal ? { signal } : {}) } : signal ? { signal } : {},
  );
  if (credential) return credential;
  throw new ChutesError('auth_required', {
    message: profile !== undefined ? `No Chutes credential is stored for profile "${profile}"` : 'No Chutes credential is configured',
  });
}

/**
 * One call to the Chutes account API on {apiBaseUrl} (quota, usage, reports), with the credential;
 * the JSON answer (undefined for an empty one). Not paced: these endpoints are not invocations.
 */
export async function accountApi(ctx: ChutesContext, call: AccountCall): Promise<unknown> {
  const url = `${ctx.config.apiBaseUrl}${call.path}`;
  const timeoutMs = ctx.config.discoveryTimeoutMs;
  const own: Record<string, string> = { accept: 'application/json' };
  if (call.body !== undefined) own['content-type'] = 'application/json';
  const res = await upstreamRequest(ctx, {
    method: call.method,
    url,
    headers: requestHeaders({ configured: [ctx.config.headers], bearer: call.credential.token, own }),
    ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
    ...(call.signal ? { signal: call.signal } : {}),
    timeouts: { headersMs: timeoutMs, idleMs: timeoutMs, totalMs: timeoutMs },
  });
  const what = `${call.method} ${url}`;
  if (res.status < 200 || res.status >= 300) {
    const text = await res.text(MAX_ERROR_BODY_BYTES, 'truncate');
    throw errorFromResponse(res.status, res.headers, text, {
      what,
      ...(res.status === 404 && call.notFound ? { resolution: call.notFound } : {}),
    });
  }
  const text = (await res.text(MAX_BODY_BYTES, 'fail')).trim();
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ChutesError('server_error', { message: `${what}: the answer is not valid JSON`, retryable: false });
  }
}
