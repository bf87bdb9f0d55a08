import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type {
  AttestationSummary,
  DcapCollateral,
  TeeEvidence,
  TeeEvidenceBundle,
  TeeInstanceReport,
  TeeVerifyAuditParams,
  TeeVerifyResult,
} from '../../generated/types';
import { raceAbort } from '../../util/abort';
import type { ChutesContext } from '../context';
import type { Credential } from '../credentials';
import { ChutesError } from '../errors';
import type { VerifiedKeys as E2eeVerifiedKeys } from '../e2ee/verified-keys';
import { publicModelId, stripModelPrefix } from '../models/model-id';
import { e2ePubkeySha256 } from './binding';
import { fetchE2ePubkeys, fetchEvidence, fetchMeasurementRows } from './chutes-api';
import { type CollateralOutcome, type CollateralSource, PccsCollateral } from './collateral';
import { type DcapVerifier, intelDcap } from './dcap';
import { type MeasurementRow, readMeasurementRows } from './measurements';
import { summarize } from './summary';
import { verifyInstance } from './verify-instance';

/** Parts a test provides instead of the real ones. */
export interface AttestationParts {
  dcap?: DcapVerifier;
  collateral?: CollateralSource;
  /** A fresh nonce (64 hex); default 32 random bytes. */
  nonce?: () => string;
}

export interface VerifyOptions {
  refresh?: boolean;
  save?: boolean;
  profile?: string;
  signal?: AbortSignal;
}

/** The e2e keys of a chute's verified instances: what the E2EE transport may encrypt to. */
export interface VerifiedKeys {
  chuteId: string;
  checkedAt: string;
  /** One per verified instance: SHA-256 (hex) of its decoded e2e_pubkey. */
  keys: Array<{ instanceId: string; e2ePubkeySha256: string }>;
}

/** Whether `e2ePubkeyB64` (as /e2e/instances serves it) is the verified key of `instanceId`. */
export function isVerifiedKey(verified: VerifiedKeys, instanceId: string, e2ePubkeyB64: string): boolean {
  const digest = e2ePubkeySha256(e2ePubkeyB64);
  return verified.keys.some((k) => k.instanceId === instanceId && k.e2ePubkeySha256 === digest);
}

interface Verification {
  result: TeeVerifyResult;
  bundle: TeeEvidenceBundle;
  atMs: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Unix seconds from an ISO date-time or a number of seconds. */
export function toUnixSeconds(at: string | number): number {
  if (typeof at === 'number') return at;
  const ms = Date.parse(at);
  if (!Number.isFinite(ms)) throw new ChutesError('bad_request', { message: `at ${JSON.stringify(at)} is not a date-time` });
  return Math.floor(ms / 1000);
}

function isCollateral(v: unknown): v is DcapCollateral {
  return !!v && typeof v === 'object' && typeof (v as { tcb_info?: unknown }).tcb_info === 'string';
}

/**
 * Verifies the TEE of chutes: evidence for a fresh nonce, the instances' e2e keys, measurements and
 * DCAP collateral, then every check per instance (verify-instance.ts). One per context: results
 * are cached per chute for tee.cacheTtlMs, and concurrent callers share one verification in flight.
 */
export class AttestationService implements E2eeVerifiedKeys {
  private readonly dcap: DcapVerifier;
  private readonly collateral: CollateralSource;
  private readonly newNonce: () => string;
  private readonly cache = new Map<string, Verification>();
  private readonly inflight = new Map<string, Promise<Verification>>();
  private liveRows: { rows: unknown; atMs: number } | undefined;

  constructor(
    private readonly ctx: ChutesContext,
    parts: AttestationParts = {},
  ) {
    this.dcap = parts.dcap ?? intelDcap;
    this.collateral = parts.collateral ?? new PccsCollateral(ctx).source;
    this.newNonce = parts.nonce ?? (() => randomBytes(32).toString('hex'));
  }

  /** tee.verify in live mode: the model's chute, from the cache when a fresh verification is there. */
  async verify(model: string, opts: VerifyOptions = {}): Promise<TeeVerifyResult> {
    const { chuteId, label } = await this.resolveChute(model, opts.signal);
    const v = await this.verifyChute(chuteId, label, opts);
    return opts.save ? { ...v.result, saved: v.bundle } : v.result;
  }

  /** The e2e key digests of the chute's verified instances (verifying first when nothing fresh is cached). */
  async verifiedKeys(chuteId: string, opts: { refresh?: boolean; signal?: AbortSignal } = {}): Promise<VerifiedKeys> {
    const v = await this.verifyChute(chuteId, undefined, opts);
    return {
      chuteId,
      checkedAt: v.result.checkedAt,
      keys: v.result.instances
        .filter((i) => i.verified && i.e2ePubkeySha256 !== null)
        .map((i) => ({ instanceId: i.instanceId, e2ePubkeySha256: i.e2ePubkeySha256! })),
    };
  }

  /** The VerifiedKeys interface of the E2EE transport: the same digests, as a set. */
  async verifiedKeyHashes(chuteId: string, opts: { refresh: boolean; signal?: AbortSignal }): Promise<ReadonlySet<string>> {
    const verified = await this.verifiedKeys(chuteId, opts);
    return new Set(verified.keys.map((k) => k.e2ePubkeySha256));
  }

  /** The latest verification of a chute made by this process, in short; no network. */
  latestSummary(chuteId: string): AttestationSummary | undefined {
    const v = this.cache.get(chuteId);
    return v ? summarize(v.result) : undefined;
  }

  /** The summary a chat relies on (attestation verify or require); a failure to check is a summary with `error`. */
  async summaryForModel(model: string, signal?: AbortSignal): Promise<AttestationSummary> {
    let chuteId: string | undefined;
    try {
      const resolved = await this.resolveChute(model, signal);
      chuteId = resolved.chuteId;
      return summarize((await this.verifyChute(resolved.chuteId, resolved.label, signal ? { signal } : {})).result);
    } catch (err) {
      if (signal?.aborted || !(err instanceof ChutesError)) throw err;
      const summary: AttestationSummary = {
        model: publicModelId(stripModelPrefix(model)),
        verified: false,
        checkedAt: new Date().toISOString(),
        instances: 0,
        verifiedInstances: 0,
        error: err.message,
      };
      if (chuteId) summary.chuteId = chuteId;
      return summary;
    }
  }

  /** tee.verify in audit mode: saved evidence, as of `at`, offline but for what the params leave out. */
  async audit(params: TeeVerifyAuditParams, signal?: AbortSignal): Promise<TeeVerifyResult> {
    const nowSecs = toUnixSeconds(params.at);
    const measurements = params.measurements
      ? { rows: params.measurements as unknown, kind: 'given' as const }
      : await this.measurements(signal);
    const given = params.collateral;
    const collateralFor = (instanceId: string, quote: Uint8Array): Promise<CollateralOutcome> => {
      if (isCollateral(given)) return Promise.resolve(given);
      const own = given ? (given as Record<string, DcapCollateral>)[instanceId] : undefined;
      return own ? Promise.resolve(own) : this.collateral(quote, signal);
    };
    const keys = new Map(Object.entries(params.e2ePubkeys));
    const { instances } = await this.checkAll(params.evidence, params.nonce, keys, measurements.rows, collateralFor, nowSecs);
    const result: TeeVerifyResult = {
      verified: instances.some((i) => i.verified),
      checkedAt: new Date(nowSecs * 1000).toISOString(),
      nonce: params.nonce,
      source: 'audit',
      policy: { tcbStatuses: [...this.ctx.config.tee.tcbStatuses], measurements: measurements.kind },
      instances,
      failedInstanceIds: [...(params.evidence.failed_instance_ids ?? [])],
    };
    if (params.model) result.model = publicModelId(stripModelPrefix(params.model));
    if (params.chuteId) result.chuteId = params.chuteId;
    return result;
  }

  /** The chute_id of a model: a UUID as it is, else chute_id from the model list. */
  async resolveChute(model: string, signal?: AbortSignal): Promise<{ chuteId: string; label?: string }> {
    const id = stripModelPrefix(model.trim());
    if (UUID.test(id)) return { chuteId: id.toLowerCase() };
    const found = await this.ctx.models.lookup(id, signal ? { signal } : {});
    if (found?.tee === false) {
      throw new ChutesError('tee_required', {
        message: `${publicModelId(id)} does not run in a TEE (confidential_compute is false): there is nothing to verify`,
      });
    }
    if (!found?.chuteId) {
      throw new ChutesError('model_not_found', {
        message: found
          ? `No chute_id is known for ${publicModelId(id)}: the live model list (GET /v1/models) is needed, or give the chute_id`
          : `${publicModelId(id)} is not in the model list`,
      });
    }
    return { chuteId: found.chuteId, label: found.id };
  }

  private freshest(chuteId: string): Verification | undefined {
    const v = this.cache.get(chuteId);
    return v && Date.now() - v.atMs < this.ctx.config.tee.cacheTtlMs ? v : undefined;
  }

  private async verifyChute(chuteId: string, label: string | undefined, opts: VerifyOptions): Promise<Verification> {
    const fresh = this.freshest(chuteId);
    if (fresh && !opts.refresh) return this.asCached(fresh, label);
    let running = this.inflight.get(chuteId);
    if (!running) {
      // Shared by every caller: it is not cut short when one of them gives up (only its wait is).
      running = this.fetchAndCheck(chuteId, label, opts.profile).finally(() => this.inflight.delete(chuteId));
      this.inflight.set(chuteId, running);
      running.catch(() => undefined);
    }
    try {
      return await raceAbort(running, opts.signal);
    } catch (err) {
      // Rate limited (60 evidence requests a minute, for all users): a fresh result still holds.
      const stillFresh = this.freshest(chuteId);
      if (err instanceof ChutesError && err.type === 'rate_limited' && stillFresh) {
        this.ctx.log.info(`tee: ${err.message}; using the verification made at ${stillFresh.result.checkedAt}`);
        return this.asCached(stillFresh, label);
      }
      throw err;
    }
  }

  private asCached(v: Verification, label: string | undefined): Verification {
    const result: TeeVerifyResult = { ...v.result, source: 'cache' };
    if (label && !result.model) result.model = label;
    return { ...v, result };
  }

  private async credential(profile: string | undefined, signal?: AbortSignal): Promise<Credential> {
    const credential = await this.ctx.credentials.resolve({ ...(profile !== undefined ? { profile } : {}), ...(signal ? { signal } : {}) });
    if (credential) return credential;
    throw new ChutesError('auth_required', {
      message:
        'Verifying a TEE needs a Chutes credential: the e2e public keys of the instances (GET /e2e/instances) are only given to signed-in users',
    });
  }

  private async fetchAndCheck(chuteId: string, label: string | undefined, profile: string | undefined): Promise<Verification> {
    const credential = await this.credential(profile);
    const nonce = this.newNonce();
    const [evidence, firstKeys, measurements] = await Promise.all([
      fetchEvidence(this.ctx, chuteId, nonce, { credential }),
      // A chute with evidence but no E2E-capable instance (404) is a finding: no instance can be bound to a key.
      fetchE2ePubkeys(this.ctx, chuteId, { credential }).catch((err: unknown) => {
        if (!(err instanceof ChutesError && err.data.httpStatus === 404)) throw err;
        this.ctx.log.info(`tee: ${err.message}; no instance has a key to bind`);
        return new Map<string, string>();
      }),
      this.measurements(),
    ]);
    const keys = new Map(firstKeys);
    // Each discovery call samples at most 5 instances: ask again for the keys still missing.
    for (let round = 1; round < this.ctx.config.tee.discoveryRounds; round++) {
      if (evidence.evidence.every((e) => keys.has(e.instance_id))) break;
      for (const [id, key] of await fetchE2ePubkeys(this.ctx, chuteId, { credential })) keys.set(id, key);
    }
    const used = new Map<string, DcapCollateral>();
    const nowSecs = Math.floor(Date.now() / 1000);
    const { instances } = await this.checkAll(
      evidence,
      nonce,
      keys,
      measurements.rows,
      async (instanceId, quote) => {
        const c = await this.collateral(quote);
        if (!('unavailable' in c)) used.set(instanceId, c);
        return c;
      },
      nowSecs,
    );
    const checkedAt = new Date(nowSecs * 1000).toISOString();
    const result: TeeVerifyResult = {
      chuteId,
      verified: instances.some((i) => i.verified),
      checkedAt,
      nonce,
      source: 'live',
      policy: { tcbStatuses: [...this.ctx.config.tee.tcbStatuses], measurements: measurements.kind },
      instances,
      failedInstanceIds: [...(evidence.failed_instance_ids ?? [])],
    };
    if (label) result.model = label;
    const bundle: TeeEvidenceBundle = {
      chuteId,
      nonce,
      at: checkedAt,
      evidence,
      e2ePubkeys: Object.fromEntries(
        evidence.evidence.filter((e) => keys.has(e.instance_id)).map((e) => [e.instance_id, keys.get(e.instance_id)!]),
      ),
      collateral: Object.fromEntries(used),
      measurements: Array.isArray(measurements.rows) ? (measurements.rows as Array<Record<string, unknown>>) : [],
    };
    if (label) bundle.model = label;
    const v: Verification = { result, bundle, atMs: Date.now() };
    this.cache.set(chuteId, v);
    this.ctx.log.info(`tee: ${label ?? chuteId}: ${instances.filter((i) => i.verified).length} of ${instances.length} instances verified`);
    return v;
  }

  private async checkAll(
    evidence: TeeEvidence,
    nonce: string,
    keys: ReadonlyMap<string, string>,
    rowsValue: unknown,
    collateralFor: (instanceId: string, quote: Uint8Array) => Promise<CollateralOutcome>,
    nowSecs: number,
  ): Promise<{ instances: TeeInstanceReport[] }> {
    let rows: MeasurementRow[];
    try {
      rows = readMeasurementRows(rowsValue);
    } catch (err) {
      throw new ChutesError('server_error', { message: `reference measurements: ${(err as Error).message}`, retryable: false });
    }
    const instances: TeeInstanceReport[] = [];
    for (const entry of evidence.evidence) {
      const quote = Buffer.from(entry.quote, 'base64');
      const collateral = quote.length ? await collateralFor(entry.instance_id, quote) : { unavailable: 'the evidence has no quote' };
      instances.push(
        verifyInstance(
          {
            entry,
            nonce,
            e2ePubkey: keys.get(entry.instance_id),
            collateral,
            measurements: rows,
            nowSecs,
            tcbStatuses: this.ctx.config.tee.tcbStatuses,
          },
          this.dcap,
        ),
      );
    }
    return { instances };
  }

  /** The reference rows: the pinned file when configured (read each time: it may be updated), else the live endpoint, cached. */
  private async measurements(signal?: AbortSignal): Promise<{ rows: unknown; kind: 'pinned' | 'live' }> {
    const { measurementsFile, measurementsTtlMs } = this.ctx.config.tee;
    if (measurementsFile) {
      let text: string;
      try {
        text = fs.readFileSync(measurementsFile, 'utf8');
      } catch (err) {
        throw new ChutesError('config_invalid', {
          message: `tee.measurementsFile ${measurementsFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
        });
      }
      try {
        return { rows: JSON.parse(text) as unknown, kind: 'pinned' };
      } catch (err) {
        throw new ChutesError('config_invalid', {
          message: `tee.measurementsFile ${measurementsFile} is not JSON (${(err as Error).message})`,
        });
      }
    }
    if (this.liveRows && Date.now() - this.liveRows.atMs < measurementsTtlMs) return { rows: this.liveRows.rows, kind: 'live' };
    const rows = await fetchMeasurementRows(this.ctx, signal);
    this.liveRows = { rows, atMs: Date.now() };
    return { rows, kind: 'live' };
  }
}
