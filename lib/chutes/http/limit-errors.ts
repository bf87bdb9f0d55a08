import type { ProviderErrorData } from '../../generated/types';

/** What a 429 or 402 body says beyond its status: a limit that retrying cannot lift, and when it resets. */
export interface LimitFacts {
  reason?: NonNullable<ProviderErrorData['reason']>;
  retryable?: false;
  resetAt?: string;
  resolution?: string;
}

/** The next UTC midnight after `now`: when the daily free-model limit resets. */
export function nextUtcMidnight(now: number): string {
  const d = new Date(now);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)).toISOString();
}

/** A 402's quota_reset_timestamp (an ISO-8601 string; tolerantly also epoch seconds or ms). */
function resetTimestamp(value: unknown): string | undefined {
  let at: number;
  if (typeof value === 'string' && value.trim() !== '' && !/^\d+(\.\d+)?$/.test(value.trim())) at = Date.parse(value);
  else if (typeof value === 'number' || (typeof value === 'string' && value.trim() !== '')) {
    const n = Number(value);
    at = n >= 1e12 ? n : n * 1000;
  } else return undefined;
  return Number.isFinite(at) ? new Date(at).toISOString() : undefined;
}

function detailOf(bodyText: string): { text: string; object?: Record<string, unknown> } {
  try {
    const body = JSON.parse(bodyText) as Record<string, unknown>;
    const d = body?.detail ?? body?.error ?? body?.message;
    if (typeof d === 'string') return { text: d };
    if (d && typeof d === 'object') {
      const o = d as Record<string, unknown>;
      return { text: typeof o.message === 'string' ? o.message : JSON.stringify(o), object: o };
    }
  } catch {
    // Not JSON: the text is the detail.
  }
  return { text: bodyText };
}

const RATE_LIMITS: Array<{ match: RegExp; facts: (now: number) => LimitFacts }> = [
  {
    match: /free models? limit reached/i,
    facts: (now) => ({
      reason: 'daily_limit',
      retryable: false,
      resetAt: nextUtcMidnight(now),
      resolution:
        'The daily limit of free-model requests is used up; it resets at midnight UTC (resetAt). Keep a balance of $10 or more on the Chutes account to lift it, or use a paid model.',
    }),
  },
  {
    match: /invalid free model/i,
    facts: () => ({
      reason: 'invalid_free_model',
      retryable: false,
      resolution:
        'This model is not available on the free tier: pick another model (models.discover), or add a balance to the Chutes account.',
    }),
  },
  {
    match: /^\s*rate limit exceeded/i,
    facts: () => ({
      reason: 'endpoint_rate_limit',
      retryable: false,
      resolution: 'An endpoint rate limit was hit; retrying at once only extends it. Wait a minute or more before calling again.',
    }),
  },
];

const PAYMENT_CASES: Array<{ match: RegExp; reason: NonNullable<LimitFacts['reason']>; resolution: string }> = [
  {
    match: /TEE models require/i,
    reason: 'tee_subscription',
    resolution:
      'TEE models need an active Chutes subscription or a positive balance: subscribe or top up, or use a model that is not TEE-only.',
  },
  {
    match: /higher subscription tier/i,
    reason: 'subscription_tier',
    resolution: 'This model needs a higher subscription tier: upgrade the Chutes subscription, or pick another model.',
  },
  {
    match: /usage cap/i,
    reason: 'usage_cap',
    resolution: "The subscription's usage cap is reached: wait for it to reset, top up the balance, or upgrade the subscription.",
  },
  {
    match: /creator/i,
    reason: 'creator_balance',
    resolution: "This chute is unavailable because its creator's account has no balance: pick another model, or tell the chute's owner.",
  },
  {
    match: /quota/i,
    reason: 'quota_exceeded',
    resolution:
      'The quota of the Chutes account is used up: wait for it to reset (resetAt), top up the balance, or upgrade the subscription.',
  },
];

/**
 * The facts of a 429 or 402 the service explained: the daily free-model limit (resets at the next UTC
 * midnight), an invalid free model and endpoint limits (none of them lifted by a retry), and the 402
 * cases with their own resolutions; a 402's quota_reset_timestamp becomes resetAt. Empty for anything
 * else (a capacity 429 stays a retryable rate limit).
 */
export function limitFacts(status: number, bodyText: string, now = Date.now()): LimitFacts {
  if (status !== 429 && status !== 402) return {};
  const { text, object } = detailOf(bodyText);
  if (status === 429) return RATE_LIMITS.find((r) => r.match.test(text))?.facts(now) ?? {};
  const facts: LimitFacts = {};
  const resetAt = resetTimestamp(object?.quota_reset_timestamp);
  if (resetAt) facts.resetAt = resetAt;
  const known = PAYMENT_CASES.find((c) => c.match.test(text)) ?? (resetAt ? PAYMENT_CASES.at(-1) : undefined);
  if (known) {
    facts.reason = known.reason;
    facts.resolution = known.resolution;
  }
  return facts;
}
