/*
 * Model ids: results and configs name a model `chutes/<upstream id>` (as OpenClaw model refs do);
 * the API knows only the upstream id. The prefix is dealt with here and nowhere else.
 */

export const MODEL_ID_PREFIX = 'chutes/';

/** An id without the chutes/ prefix (an upstream id stays as it is). */
export function stripModelPrefix(id: string): string {
  return id.startsWith(MODEL_ID_PREFIX) ? id.slice(MODEL_ID_PREFIX.length) : id;
}

/**
 * The upstream model name for a model param: `chutes/X` and `X` both mean `X`. A comma-separated
 * failover list is mapped entry by entry; routing suffixes (`:THINKING`, `:latency`) stay.
 */
export function upstreamModel(model: string): string {
  if (!model.includes(',')) return stripModelPrefix(model);
  return model
    .split(',')
    .map((m) => upstreamModel(m.trim()))
    .join(',');
}

/** The suffixes the server reads as a routing strategy for the whole selector. */
export const ROUTING_SUFFIXES = ['latency', 'throughput'] as const;

/**
 * The wire `model` for a model param that may be a routing list: `["a", "chutes/b"]` and `"a,chutes/b"`
 * both give `a,b`. A `:latency` / `:throughput` suffix belongs to the whole selector, so it may only
 * end it. Throws an Error whose message says what is wrong with the selector.
 */
export function routingSelector(model: string | readonly string[]): string {
  const entries = (typeof model === 'string' ? model.split(',') : model.flatMap((m) => m.split(','))).map((m) => m.trim());
  if (entries.some((m) => m === '')) throw new Error('a routing list has an empty entry');
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    const suffix = /:([A-Za-z_]+)$/.exec(entry)?.[1];
    if (suffix && (ROUTING_SUFFIXES as readonly string[]).includes(suffix) && i < entries.length - 1) {
      throw new Error(`the routing suffix :${suffix} applies to the whole list, so it may only end it (after ${entries.at(-1)})`);
    }
    const id = stripModelPrefix(entry);
    if (seen.has(id)) throw new Error(`${id} is listed twice`);
    seen.add(id);
  });
  return entries.map(stripModelPrefix).join(',');
}

/** The plain model ids a (possibly routed) upstream model name names, for metadata lookups. */
export function modelIds(upstream: string): string[] {
  return upstream
    .split(',')
    .map((m) => m.trim().replace(/:[A-Za-z_]+$/, ''))
    .filter((m) => m !== '');
}

/** A model id as results name it: chutes/<upstream id>. */
export function publicModelId(upstream: string): string {
  return upstream.startsWith(MODEL_ID_PREFIX) ? upstream : MODEL_ID_PREFIX + upstream;
}
