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
