import type { ChutesContext } from '../context';
import { ChutesError } from '../errors';
import { publicModelId } from '../models/model-id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Why a model param cannot be sent with E2EE, or undefined when it can. Only one concrete chute
 * can hold the key a request is sealed to; the API cannot route what it cannot read.
 */
export function e2eeSelectorProblem(upstreamModel: string): string | undefined {
  if (upstreamModel.includes(','))
    return `E2EE needs one concrete model; a failover list (${upstreamModel}) cannot be sealed to one instance`;
  const suffix = /:(latency|throughput)$/i.exec(upstreamModel);
  if (suffix) return `E2EE needs one concrete model; the :${suffix[1]} routing selector cannot be used with it`;
  return undefined;
}

/**
 * The chute_id of an upstream model id: a UUID is one already; a name is looked up in the model list
 * (GET /v1/models carries chute_id), refreshed once when the cached list does not know it.
 */
export async function resolveChuteId(ctx: ChutesContext, upstreamModel: string, signal?: AbortSignal): Promise<string> {
  if (UUID.test(upstreamModel)) return upstreamModel;
  const found = await ctx.models.lookup(upstreamModel, signal ? { signal } : {});
  if (found?.chuteId) return found.chuteId;
  await ctx.models.discover({ refresh: true, ...(signal ? { signal } : {}) }).catch(() => undefined);
  const again = await ctx.models.lookup(upstreamModel, signal ? { signal } : {});
  if (again?.chuteId) return again.chuteId;
  throw new ChutesError('model_not_found', {
    message: `E2EE needs the chute of ${publicModelId(upstreamModel)}, and the model list names none for it`,
  });
}

/** The base of the /e2e endpoints: api.chutes.ai beside llm.chutes.ai; any other base URL's own origin (a proxy, a mock). */
export function e2eeApiBase(baseUrl: string): string {
  const url = new URL(baseUrl);
  if (url.hostname === 'llm.chutes.ai') return 'https://api.chutes.ai';
  return url.origin;
}
