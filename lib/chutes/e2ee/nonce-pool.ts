import type { DiscoveredInstance, Discovery } from './discovery';

/** One nonce, pinned to the instance it was issued for: sent with that X-Instance-Id, sealed to that key. */
export interface PinnedNonce {
  chuteId: string;
  instanceId: string;
  publicKey: Buffer;
  keyHash: string;
  nonce: string;
  /** Whether attestation verified this instance's key. */
  attested: boolean;
}

/** A discovery after the attestation filter: the instances to use, and whether each is attested. */
export interface UsableInstances {
  instances: DiscoveredInstance[];
  attested: boolean;
  expiresInMs: number;
}

interface ChutePool {
  instances: DiscoveredInstance[];
  attested: boolean;
  expiresAt: number;
}

/**
 * Single-use nonces per chute, shared by every call of the process. Nonces are taken in order from
 * the first instance that still has any; an empty or expired pool is refilled by one discovery,
 * which concurrent callers share (the endpoint allows 10 calls a minute for all users together).
 */
export class NoncePool {
  private readonly pools = new Map<string, ChutePool>();
  private readonly inflight = new Map<string, Promise<ChutePool>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A nonce for the chute; `discover` (shared) when none is left or they expired. */
  async take(chuteId: string, discover: () => Promise<UsableInstances>): Promise<PinnedNonce> {
    for (let round = 0; ; round++) {
      const pool = this.fresh(chuteId) ?? (await this.refill(chuteId, discover));
      const instance = pool.instances.find((i) => i.nonces.length > 0);
      if (instance) {
        const nonce = instance.nonces.shift()!;
        return {
          chuteId,
          instanceId: instance.instanceId,
          publicKey: instance.publicKey,
          keyHash: instance.keyHash,
          nonce,
          attested: pool.attested,
        };
      }
      // Drained by concurrent callers since the refill: discover again (a few times at most).
      if (round >= 3) throw new Error(`no E2EE nonce is left for chute ${chuteId} after ${round + 1} discoveries`);
      if (this.pools.get(chuteId) === pool) this.pools.delete(chuteId);
    }
  }

  /** Forgets the chute's nonces (a 403 nonce refusal): the next take discovers. */
  drop(chuteId: string): void {
    this.pools.delete(chuteId);
  }

  /** Forgets one instance's nonces (it is gone, full, or refused the key exchange). */
  dropInstance(chuteId: string, instanceId: string): void {
    const pool = this.pools.get(chuteId);
    if (pool) pool.instances = pool.instances.filter((i) => i.instanceId !== instanceId);
  }

  private fresh(chuteId: string): ChutePool | undefined {
    const pool = this.pools.get(chuteId);
    if (!pool) return undefined;
    if (this.now() >= pool.expiresAt || !pool.instances.some((i) => i.nonces.length > 0)) {
      this.pools.delete(chuteId);
      return undefined;
    }
    return pool;
  }

  private refill(chuteId: string, discover: () => Promise<UsableInstances>): Promise<ChutePool> {
    let running = this.inflight.get(chuteId);
    if (!running) {
      running = discover()
        .then((found) => {
          const pool: ChutePool = {
            instances: found.instances.map((i) => ({ ...i, nonces: [...i.nonces] })),
            attested: found.attested,
            // The clock starts when the answer arrived: the server counts from when it sent it.
            expiresAt: this.now() + found.expiresInMs,
          };
          this.pools.set(chuteId, pool);
          return pool;
        })
        .finally(() => this.inflight.delete(chuteId));
      this.inflight.set(chuteId, running);
    }
    return running;
  }
}

/** What a discovery result says, unfiltered (no attestation binding). */
export function unbound(discovery: Discovery): UsableInstances {
  return { instances: discovery.instances, attested: false, expiresInMs: discovery.expiresInMs };
}
