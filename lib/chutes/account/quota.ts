import type { AccountQuotaParams, AccountQuotaResult } from '../../generated/types';
import type { ChutesContext } from '../context';
import { ChutesError } from '../errors';
import { publicModelId, stripModelPrefix } from '../models/model-id';
import { accountApi, accountCredential } from './account-api';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Subscription fields kept, and the length of a kept string. */
const MAX_FIELDS = 50;
const MAX_STRING = 200;

/** Daily quotas reset at the next UTC midnight. */
export function nextUtcMidnight(now = new Date()): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString();
}

function count(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function resetFrom(body: Record<string, unknown>): string | undefined {
  for (const key of ['reset_at', 'quota_reset_timestamp', 'reset_timestamp', 'resets_at']) {
    const v = body[key];
    const at = typeof v === 'string' ? Date.parse(v) : typeof v === 'number' ? (v < 1e12 ? v * 1000 : v) : Number.NaN;
    if (Number.isFinite(at)) return new Date(at).toISOString();
  }
  return undefined;
}

/** The chute a quota is asked for: a chute_id as it is, else the model list's chute_id for the model. */
async function chuteOf(ctx: ChutesContext, model: string, signal?: AbortSignal): Promise<{ chuteId: string; model?: string }> {
  const id = stripModelPrefix(model.trim());
  if (UUID.test(id)) return { chuteId: id.toLowerCase() };
  const found = await ctx.models.lookup(id, signal ? { signal } : {});
  if (!found?.chuteId) {
    throw new ChutesError('model_not_found', {
      message: found
        ? `No chute_id is known for ${publicModelId(id)}: the live model list (GET /v1/models) is needed, or give the chute_id`
        : `${publicModelId(id)} is not in the model list`,
    });
  }
  return { chuteId: found.chuteId, model: found.id };
}

/** quota_usage as a result: {quota, used} or {quota: "unlimited"}. */
export function quotaFromBody(body: unknown, what: string): Pick<AccountQuotaResult, 'quota' | 'used' | 'remaining' | 'resetAt'> {
  const o = (body && typeof body === 'object' && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  const unlimited = typeof o.quota === 'string' && /^(unlimited|inf(inity)?)$/i.test(o.quota.trim());
  const quota = unlimited ? 'unlimited' : count(o.quota);
  if (quota === undefined) {
    throw new ChutesError('server_error', { message: `${what}: unexpected answer (no quota)`, retryable: false });
  }
  const used = count(o.used) ?? 0;
  const out: Pick<AccountQuotaResult, 'quota' | 'used' | 'remaining' | 'resetAt'> = {
    quota,
    used,
    resetAt: resetFrom(o) ?? nextUtcMidnight(),
  };
  if (quota !== 'unlimited') out.remaining = Math.max(0, quota - used);
  return out;
}

/** The plain top-level values of the subscription usage: the service decides its fields. */
function plainFields(body: unknown): Record<string, string | number | boolean | null> | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(body).slice(0, MAX_FIELDS)) {
    if (typeof v === 'string') out[k] = v.slice(0, MAX_STRING);
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null) out[k] = v;
  }
  return out;
}

/** account.quota: the quota of a chute (or of the account) and the subscription usage, in one result. */
export async function accountQuota(ctx: ChutesContext, params: AccountQuotaParams, signal?: AbortSignal): Promise<AccountQuotaResult> {
  const credential = await accountCredential(ctx, params?.profile, signal);
  const chute = params?.model !== undefined ? await chuteOf(ctx, params.model, signal) : undefined;
  const path = `/users/me/quota_usage/${chute ? encodeURIComponent(chute.chuteId) : 'me'}`;
  const [usage, subscription] = await Promise.all([
    accountApi(ctx, { method: 'GET', path, credential, signal }),
    accountApi(ctx, { method: 'GET', path: '/users/me/subscription_usage', credential, signal }).then(
      (body) => plainFields(body) ?? 'the answer is not an object',
      (err: Error) => {
        if (signal?.aborted) throw err;
        return err.message;
      },
    ),
  ]);
  const result: AccountQuotaResult = quotaFromBody(usage, `GET ${ctx.config.apiBaseUrl}${path}`);
  if (chute) {
    result.chuteId = chute.chuteId;
    if (chute.model !== undefined) result.model = publicModelId(chute.model);
  }
  if (typeof subscription === 'string') result.warning = `no subscription usage: ${subscription}`;
  else result.subscription = subscription;
  return result;
}
