/**
 * The three Chutes API calls attestation needs, on {apiBaseUrl}: the evidence of a chute's
 * instances for a nonce, the instances' e2e public keys, and the reference measurements.
 */
import type { TeeEvidence } from '../../generated/types';
import type { ChutesContext } from '../context';
import type { Credential } from '../credentials';
import { ChutesError } from '../errors';
import { requestHeaders } from '../http/headers';
import { errorDetail, errorFromResponse } from '../http/response-errors';
import { upstreamRequest } from '../http/upstream-request';

const MAX_BODY_BYTES = 16 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;

interface GetOptions {
  credential?: Credential | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs: number;
}

/** GET a JSON body; non-2xx answers become the ChutesError of their status (400 "not TEE-enabled": tee_required). */
async function getJson(ctx: ChutesContext, url: string, opts: GetOptions): Promise<unknown> {
  const res = await upstreamRequest(ctx, {
    method: 'GET',
    url,
    headers: requestHeaders({ configured: [ctx.config.headers], bearer: opts.credential?.token, own: { accept: 'application/json' } }),
    ...(opts.signal ? { signal: opts.signal } : {}),
    timeouts: { headersMs: opts.timeoutMs, idleMs: opts.timeoutMs, totalMs: opts.timeoutMs },
  });
  const what = `GET ${url.replace(/\?.*$/, '')}`;
  if (res.status < 200 || res.status >= 300) {
    const text = await res.text(MAX_ERROR_BODY_BYTES, 'truncate');
    if (res.status === 400 && /not TEE[- ]enabled/i.test(text)) {
      throw new ChutesError('tee_required', { message: `${what}: HTTP 400: ${errorDetail(text)}`, httpStatus: 400 });
    }
    throw errorFromResponse(res.status, res.headers, text, { what });
  }
  const text = await res.text(MAX_BODY_BYTES, 'fail');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ChutesError('server_error', { message: `${what}: the answer is not valid JSON`, retryable: false });
  }
}

function apiUrl(ctx: ChutesContext, path: string): string {
  return `${ctx.config.apiBaseUrl}${path}`;
}

/** What makes a body no evidence answer (the TeeEvidence schema's requirements), or undefined. */
export function evidenceProblem(body: unknown): string | undefined {
  const list = body && typeof body === 'object' ? (body as { evidence?: unknown }).evidence : undefined;
  if (!Array.isArray(list)) return 'no evidence list';
  for (const [i, e] of list.entries()) {
    const entry = (e ?? {}) as Record<string, unknown>;
    if (typeof entry.instance_id !== 'string' || entry.instance_id === '') return `evidence[${i}] has no instance_id`;
    if (typeof entry.quote !== 'string') return `evidence[${i}] has no quote`;
  }
  const failed = (body as { failed_instance_ids?: unknown }).failed_instance_ids;
  if (failed !== undefined && failed !== null && !(Array.isArray(failed) && failed.every((f) => typeof f === 'string'))) {
    return 'failed_instance_ids is not a list of ids';
  }
  return undefined;
}

/** GET /chutes/{chute_id}/evidence?nonce= (the credential is optional: public chutes answer without one). */
export async function fetchEvidence(
  ctx: ChutesContext,
  chuteId: string,
  nonce: string,
  opts: { credential?: Credential | undefined; signal?: AbortSignal | undefined },
): Promise<TeeEvidence> {
  const url = apiUrl(ctx, `/chutes/${encodeURIComponent(chuteId)}/evidence?nonce=${nonce}`);
  // The server gathers a quote from every instance: it gets the chat timeout, not the discovery one.
  const body = await getJson(ctx, url, { ...opts, timeoutMs: ctx.config.timeoutMs });
  const problem = evidenceProblem(body);
  if (problem) {
    throw new ChutesError('server_error', {
      message: `GET ${apiUrl(ctx, `/chutes/${chuteId}/evidence`)}: unexpected answer (${problem})`,
      retryable: false,
    });
  }
  return body as TeeEvidence;
}

/** instance_id -> e2e_pubkey, from GET /e2e/instances/{chute_id} (a credential is required). */
export async function fetchE2ePubkeys(
  ctx: ChutesContext,
  chuteId: string,
  opts: { credential: Credential; signal?: AbortSignal | undefined },
): Promise<Map<string, string>> {
  const url = apiUrl(ctx, `/e2e/instances/${encodeURIComponent(chuteId)}`);
  const body = await getJson(ctx, url, { ...opts, timeoutMs: ctx.config.discoveryTimeoutMs });
  const instances = body && typeof body === 'object' ? (body as { instances?: unknown }).instances : undefined;
  if (!Array.isArray(instances)) {
    throw new ChutesError('server_error', { message: `GET ${url}: the answer has no instances list`, retryable: false });
  }
  const keys = new Map<string, string>();
  for (const i of instances) {
    const { instance_id: id, e2e_pubkey: key } = (i ?? {}) as { instance_id?: unknown; e2e_pubkey?: unknown };
    if (typeof id === 'string' && typeof key === 'string' && key !== '') keys.set(id, key);
  }
  return keys;
}

/** The rows of GET /servers/tee/measurements, unchecked (measurements.ts reads them). */
export function fetchMeasurementRows(ctx: ChutesContext, signal?: AbortSignal): Promise<unknown> {
  return getJson(ctx, apiUrl(ctx, '/servers/tee/measurements'), { signal, timeoutMs: ctx.config.discoveryTimeoutMs });
}
