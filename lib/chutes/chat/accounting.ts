import type { Cost, ModelPricing, RateLimit, Usage } from '../../generated/types';

type HeaderBag = Record<string, string | string[] | undefined>;

function first(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return undefined;
  // A repeated header folded by a proxy: "60, 60".
  const t = s.split(',')[0]!.trim();
  return t === '' ? undefined : t;
}

function num(headers: HeaderBag, name: string): number | undefined {
  const s = first(headers, name);
  if (s === undefined || !/^-?\d+(\.\d+)?$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** X-RateLimit-Reset as a time: epoch seconds, seconds from now, or an HTTP date. */
function resetAt(headers: HeaderBag, now: number): string | undefined {
  const s = first(headers, 'x-ratelimit-reset');
  if (s === undefined) return undefined;
  let at: number;
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    at = n > 1e12 ? n : n > 1e9 ? n * 1000 : now + n * 1000;
  } else {
    at = Date.parse(s);
  }
  return Number.isFinite(at) ? new Date(at).toISOString() : undefined;
}

/**
 * What the response headers say about limits: the documented X-RateLimit-* and the
 * X-Chutes-Quota-* / X-Chutes-RL-* / X-Chutes-InvocationID newer servers send. Header names
 * arrive lowercased from undici. Undefined when none is present.
 */
export function parseRateLimit(headers: HeaderBag, now = Date.now()): RateLimit | undefined {
  const rl: RateLimit = {};
  // X-Chutes-RL-User is the per-user requests-per-minute limit ("inf" when unlimited).
  const limit = num(headers, 'x-ratelimit-limit') ?? num(headers, 'x-chutes-rl-user');
  if (limit !== undefined) rl.limit = limit;
  const remaining = num(headers, 'x-ratelimit-remaining');
  if (remaining !== undefined) rl.remaining = remaining;
  const reset = resetAt(headers, now);
  if (reset !== undefined) rl.resetAt = reset;
  const chuteLimit = num(headers, 'x-chutes-rl-chute');
  if (chuteLimit !== undefined) rl.chuteLimit = chuteLimit;
  const total = num(headers, 'x-chutes-quota-total');
  if (total !== undefined) rl.quotaTotal = total;
  const used = num(headers, 'x-chutes-quota-used');
  if (used !== undefined) rl.quotaUsed = used;
  const quotaRemaining = num(headers, 'x-chutes-quota-remaining') ?? (total !== undefined && used !== undefined ? Math.max(0, total - used) : undefined);
  if (quotaRemaining !== undefined) rl.quotaRemaining = quotaRemaining;
  const invocation = first(headers, 'x-chutes-invocationid');
  if (invocation !== undefined) rl.invocationId = invocation.slice(0, 200);
  return Object.keys(rl).length ? rl : undefined;
}

/**
 * The price of a call: uncached prompt tokens at the input price, cached ones at the cache-read
 * price (the input price when the model has none), completion tokens at the output price; prices
 * are USD per 1M tokens. Undefined when the model's prices are unknown.
 */
export function computeCost(usage: Usage, pricing: ModelPricing | undefined): Cost | undefined {
  if (!pricing || typeof pricing.input !== 'number' || typeof pricing.output !== 'number') return undefined;
  const cached = Math.min(usage.cachedTokens ?? 0, usage.promptTokens);
  const cacheRate = typeof pricing.cacheRead === 'number' ? pricing.cacheRead : pricing.input;
  const usd = ((usage.promptTokens - cached) * pricing.input + cached * cacheRate + usage.completionTokens * pricing.output) / 1e6;
  // Twelve decimals: far below a token's price, and no 0.30000000000000004 noise.
  return { usd: Math.round(usd * 1e12) / 1e12 };
}
