import { type HeaderBag, headerValue } from '../http/headers';

/** A server limit: requests a minute, or "inf" (none). */
export type ServerLimit = number | 'inf';

/** A limit above this is paced as none: the state of a window holds one time per request. */
export const MAX_PACED_LIMIT = 10_000;

/** X-Chutes-RL-User / X-Chutes-RL-Chute: a number of requests a minute, or "inf"; anything else says nothing. */
function limitHeader(headers: HeaderBag, name: string): ServerLimit | undefined {
  const s = headerValue(headers, name)?.split(',')[0]?.trim();
  if (s === undefined || s === '') return undefined;
  if (/^\+?inf(inity)?$/i.test(s)) return 'inf';
  if (!/^\d+(\.\d+)?$/.test(s)) return undefined;
  const n = Math.floor(Number(s));
  if (!Number.isFinite(n) || n < 1) return undefined;
  return n > MAX_PACED_LIMIT ? 'inf' : n;
}

/** What a response says about the per-user and per-chute limits (newer servers send both on invocations). */
export function serverLimits(headers: HeaderBag): { user?: ServerLimit; chute?: ServerLimit } {
  const out: { user?: ServerLimit; chute?: ServerLimit } = {};
  const user = limitHeader(headers, 'x-chutes-rl-user');
  if (user !== undefined) out.user = user;
  const chute = limitHeader(headers, 'x-chutes-rl-chute');
  if (chute !== undefined) out.chute = chute;
  return out;
}

/**
 * The per-credential budget: the configured one until the server said its own; then the server's
 * (it knows the account's tier), except that a budget set in the config is a ceiling. undefined: no pacing.
 */
export function userBudget(
  config: { requestsPerMinute: number; configured: boolean },
  server: ServerLimit | undefined,
): number | undefined {
  const own = config.requestsPerMinute;
  if (own <= 0) return undefined;
  if (server === undefined) return own;
  if (server === 'inf') return config.configured ? own : undefined;
  return config.configured ? Math.min(own, server) : server;
}
