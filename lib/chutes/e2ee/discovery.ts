import { createHash } from 'node:crypto';
import type { ChutesContext } from '../context';
import type { Credential } from '../credentials';
import { ChutesError } from '../errors';
import { requestHeaders } from '../http/headers';
import { errorDetail, errorFromResponse } from '../http/response-errors';
import { upstreamRequest } from '../http/upstream-request';
import { PUBLIC_KEY_BYTES } from './primitives';

/** One E2E-capable instance as discovery describes it, with the nonces issued for it. */
export interface DiscoveredInstance {
  instanceId: string;
  publicKey: Buffer;
  /** SHA256 of the raw 1184-byte key, lowercase hex: what attestation binds (report_data). */
  keyHash: string;
  nonces: string[];
}

export interface Discovery {
  instances: DiscoveredInstance[];
  /** How long the nonces live, as the server says (60 s). */
  expiresInMs: number;
}

/** The answer when a chute has no instance that offers E2EE: the one case `prefer` falls back on. */
export class NoE2eeInstance extends Error {
  override readonly name = 'NoE2eeInstance';
}

const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_EXPIRES_IN_S = 60;

/**
 * GET {apiBase}/e2e/instances/{chute_id}: up to 5 instances, 10 single-use nonces each. The
 * endpoint allows 10 calls a minute for all users together, so the nonce pool calls it only when
 * it runs dry (and one call per chute at a time).
 */
export async function discoverInstances(
  ctx: ChutesContext,
  opts: { apiBase: string; chuteId: string; credential: Credential; signal?: AbortSignal },
): Promise<Discovery> {
  const config = ctx.requireConfig();
  const url = `${opts.apiBase}/e2e/instances/${encodeURIComponent(opts.chuteId)}`;
  ctx.log.debug(`e2ee: GET ${url}`);
  const res = await upstreamRequest(ctx, {
    method: 'GET',
    url,
    headers: requestHeaders({ configured: [config.headers], bearer: opts.credential.token, own: { accept: 'application/json' } }),
    ...(opts.signal ? { signal: opts.signal } : {}),
    timeouts: { headersMs: config.discoveryTimeoutMs, idleMs: config.discoveryTimeoutMs, totalMs: config.discoveryTimeoutMs * 2 },
  });
  const text = await res.text(MAX_BODY_BYTES, res.status === 200 ? 'fail' : 'truncate');
  if (res.status === 404 && /no (active|e2e-capable) instances/i.test(errorDetail(text))) {
    throw new NoE2eeInstance(`chute ${opts.chuteId} has no E2E-capable instance (${errorDetail(text)})`);
  }
  if (res.status !== 200)
    throw errorFromResponse(res.status, res.headers, text, { what: `E2EE instance discovery for chute ${opts.chuteId}` });
  return parseDiscovery(text, opts.chuteId, (line) => ctx.log.debug(line));
}

function parseDiscovery(text: string, chuteId: string, debug: (line: string) => void): Discovery {
  let body: { instances?: unknown; nonce_expires_in?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new ChutesError('server_error', { message: `E2EE instance discovery for chute ${chuteId} answered something that is not JSON` });
  }
  const instances: DiscoveredInstance[] = [];
  for (const raw of Array.isArray(body?.instances) ? (body.instances as unknown[]) : []) {
    const i = raw as { instance_id?: unknown; e2e_pubkey?: unknown; nonces?: unknown };
    if (typeof i?.instance_id !== 'string' || typeof i.e2e_pubkey !== 'string' || !Array.isArray(i.nonces)) {
      debug(`e2ee: skipping a discovered instance without instance_id, e2e_pubkey or nonces`);
      continue;
    }
    const publicKey = Buffer.from(i.e2e_pubkey, 'base64');
    if (publicKey.length !== PUBLIC_KEY_BYTES) {
      debug(`e2ee: skipping instance ${i.instance_id}: its key is ${publicKey.length} bytes, not ${PUBLIC_KEY_BYTES}`);
      continue;
    }
    const nonces = i.nonces.filter((n): n is string => typeof n === 'string' && n !== '');
    if (nonces.length === 0) continue;
    instances.push({ instanceId: i.instance_id, publicKey, keyHash: createHash('sha256').update(publicKey).digest('hex'), nonces });
  }
  if (instances.length === 0) throw new NoE2eeInstance(`E2EE instance discovery for chute ${chuteId} returned no usable instance`);
  const expiresIn = typeof body.nonce_expires_in === 'number' && body.nonce_expires_in > 0 ? body.nonce_expires_in : DEFAULT_EXPIRES_IN_S;
  return { instances, expiresInMs: Math.min(expiresIn, DEFAULT_EXPIRES_IN_S) * 1000 };
}
