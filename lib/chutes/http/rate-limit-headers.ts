import type { RateLimit } from '../../generated/types';
import { type HeaderBag, headerValue } from './headers';

/** Below this a bare number is a delay in seconds; from it up to EPOCH_MS_FROM, epoch seconds. */
const EPOCH_S_FROM = 1e9;
/** From here on a bare number is epoch milliseconds (1e12 ms is 2001; 1e12 s is 33658 AD). */
const EPOCH_MS_FROM = 1e12;

const NUMBER = /^\d+(\.\d+)?$/;

/** A header's first value, for a number: a proxy may fold a repeated header into "60, 60". */
function firstToken(headers: HeaderBag, name: string): string | undefined {
  const s = headerValue(headers, name)?.split(',')[0]?.trim();
  return s === '' ? undefined : s;
}

function num(headers: HeaderBag, name: string): number | undefined {
  const s = firstToken(headers, name);
  if (s === undefined || !/^-?\d+(\.\d+)?$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function isInfinite(headers: HeaderBag, name: string): boolean {
  return /^\+?inf(inity)?$/i.test(firstToken(headers, name) ?? '');
}

/**
 * When a server says to come back, as epoch ms: a number is seconds from now, epoch seconds, or
 * epoch milliseconds (servers differ; the size tells which); anything else is read as an HTTP date.
 */
function timeFrom(value: string | undefined, now: number): number | undefined {
  const s = value?.trim();
  if (s === undefined || s === '') return undefined;
  const numeric = /^(\d+(?:\.\d+)?)\s*(?:,|$)/.exec(s)?.[1];
  if (numeric !== undefined) {
    const n = Number(numeric);
    if (n >= EPOCH_MS_FROM) return n;
    return n >= EPOCH_S_FROM ? n * 1000 : now + n * 1000;
  }
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : at;
}

/** X-RateLimit-Reset as a time (epoch ms). */
function resetTime(headers: HeaderBag, now: number): number | undefined {
  return timeFrom(headerValue(headers, 'x-ratelimit-reset'), now);
}

/**
 * How long the server asks to be left alone, in ms: Retry-After (seconds or an HTTP date), else
 * X-RateLimit-Reset (seconds from now, epoch seconds, epoch ms or an HTTP date). Never negative.
 */
export function serverWaitMs(headers: HeaderBag, now = Date.now()): number | undefined {
  const retryAfter = headerValue(headers, 'retry-after')?.trim();
  // Retry-After has no epoch form: a number there is always seconds from now.
  const at =
    retryAfter !== undefined && NUMBER.test(retryAfter)
      ? now + Number(retryAfter) * 1000
      : (timeFrom(retryAfter, now) ?? resetTime(headers, now));
  return at === undefined ? undefined : Math.max(0, Math.round(at - now));
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
  const reset = new Date(resetTime(headers, now) ?? Number.NaN);
  if (!Number.isNaN(reset.getTime())) rl.resetAt = reset.toISOString();
  const chuteLimit = num(headers, 'x-chutes-rl-chute');
  if (chuteLimit !== undefined) rl.chuteLimit = chuteLimit;
  // Private chutes and some users have no limit: the server says "inf".
  if (isInfinite(headers, 'x-chutes-rl-user') && limit === undefined) rl.unlimited = true;
  if (isInfinite(headers, 'x-chutes-rl-chute')) rl.chuteUnlimited = true;
  const total = num(headers, 'x-chutes-quota-total');
  if (total !== undefined) rl.quotaTotal = total;
  const used = num(headers, 'x-chutes-quota-used');
  if (used !== undefined) rl.quotaUsed = used;
  const quotaRemaining =
    num(headers, 'x-chutes-quota-remaining') ?? (total !== undefined && used !== undefined ? Math.max(0, total - used) : undefined);
  if (quotaRemaining !== undefined) rl.quotaRemaining = quotaRemaining;
  const invocation = firstToken(headers, 'x-chutes-invocationid');
  if (invocation !== undefined) rl.invocationId = invocation.slice(0, 200);
  return Object.keys(rl).length ? rl : undefined;
}
