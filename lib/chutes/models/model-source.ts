import type { ChutesContext } from '../context';
import type { Model, ModelsDiscoverResult } from '../../generated/types';
import type { Credential } from '../credentials';
import { curatedCatalog } from './catalog';
import { fetchLiveList, LiveListUnavailable } from './fetch-live';
import { readLiveEntries } from './live-entry';
import { mergeModels, withAttestation } from './merge';
import { stripModelPrefix } from './model-id';

export interface DiscoverOptions {
  teeOnly?: boolean;
  refresh?: boolean;
  signal?: AbortSignal;
}

/** A live list, merged, as cached per credential. */
interface LiveSnapshot {
  models: readonly Model[];
  byId: ReadonlyMap<string, Model>;
  fetchedAt: string;
  fetchedAtMs: number;
  warning?: string;
}

type Outcome = { kind: 'live'; snapshot: LiveSnapshot } | { kind: 'fallback'; reason: string; warning?: string };

/** One fetch shared by every caller that wants it; aborted when the last of them gives up. */
interface SharedFetch {
  promise: Promise<Outcome>;
  controller: AbortController;
  waiters: number;
}

/** Cached lists kept at most (one per credential used by this process). */
const MAX_CACHED = 8;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as unknown;
  // An Error, or a DOMException (AbortError, TimeoutError), possibly from another realm.
  if (reason && typeof reason === 'object' && typeof (reason as Error).message === 'string') return reason as Error;
  const err = new Error('aborted');
  err.name = 'AbortError';
  return err;
}

/**
 * The one shared, cached source of model metadata: models.discover answers from it, and chat
 * asks it whether a model is TEE and what it costs (lookup).
 *
 * - The live list is cached in memory per credential for config.modelsCacheTtlMs (5 minutes);
 *   `refresh` bypasses the cache. Concurrent callers share one fetch.
 * - When the live list is unavailable the answer is the catalog (plus config entries) with a
 *   warning; that answer is not cached, so the next discover tries the live list again.
 */
export class ModelSource {
  private readonly cache = new Map<string, LiveSnapshot>();
  private readonly inflight = new Map<string, SharedFetch>();
  /** When a fetch last failed, per credential: lookup does not retry it within the TTL. */
  private readonly failedAt = new Map<string, number>();
  private fallback: { models: readonly Model[]; byId: ReadonlyMap<string, Model> } | undefined;

  constructor(protected readonly app: ChutesContext) {}

  async discover(opts: DiscoverOptions = {}): Promise<ModelsDiscoverResult> {
    const teeOnly = opts.teeOnly ?? this.app.config.teeOnly;
    const { credential, warning: credentialWarning } = await this.credential(opts.signal);
    const key = cacheKey(credential);
    const cached = this.cache.get(key);
    let result: ModelsDiscoverResult;
    if (!opts.refresh && cached && this.isFresh(cached)) {
      result = { source: 'cache', fetchedAt: cached.fetchedAt, models: [...cached.models] };
      if (cached.warning) result.warning = cached.warning;
    } else {
      const outcome = await this.fetchShared(key, credential, opts.signal);
      if (outcome.kind === 'live') {
        const s = outcome.snapshot;
        result = { source: 'live', fetchedAt: s.fetchedAt, models: [...s.models] };
        if (s.warning) result.warning = s.warning;
      } else {
        result = { source: 'catalog', fetchedAt: new Date().toISOString(), models: [...this.fallbackList().models] };
        result.warning = [`The live model list is unavailable (${outcome.reason}); showing the curated catalog.`, outcome.warning]
          .filter(Boolean)
          .join(' ');
      }
    }
    if (credentialWarning) result.warning = [credentialWarning, result.warning].filter(Boolean).join(' ');
    if (teeOnly) result.models = result.models.filter((m) => m.tee);
    const attestation = this.app.attestationIfStarted;
    if (attestation) result.models = withAttestation(result.models, (chuteId) => attestation.latestSummary(chuteId));
    return result;
  }

  /**
   * Metadata for an upstream model id (bare; a chutes/ prefix is tolerated), never failing:
   * from the cached live list (even a stale one), else from one live fetch when nothing is cached
   * and no fetch failed within the TTL, else from the catalog and config entries.
   */
  async lookup(upstreamId: string, opts: { signal?: AbortSignal } = {}): Promise<Model | undefined> {
    let snapshot: LiveSnapshot | undefined;
    try {
      const { credential } = await this.credential(opts.signal);
      const key = cacheKey(credential);
      snapshot = this.cache.get(key);
      const failed = this.failedAt.get(key);
      const recentlyFailed = failed !== undefined && Date.now() - failed < Math.max(this.app.config.modelsCacheTtlMs, 1000);
      if (!snapshot && !recentlyFailed && !opts.signal?.aborted) {
        const outcome = await this.fetchShared(key, credential, opts.signal);
        if (outcome.kind === 'live') snapshot = outcome.snapshot;
      }
    } catch (err) {
      this.app.log.debug(`model lookup: ${(err as Error).message}; answering from the catalog`);
    }
    for (const id of new Set([upstreamId, stripModelPrefix(upstreamId)])) {
      const found = snapshot?.byId.get(id) ?? this.fallbackList().byId.get(id);
      if (found) return found;
    }
    return undefined;
  }

  private isFresh(s: LiveSnapshot): boolean {
    return Date.now() - s.fetchedAtMs < this.app.config.modelsCacheTtlMs;
  }

  /** The credential to list with; one that cannot be read means listing anonymously, with a warning. */
  private async credential(signal: AbortSignal | undefined): Promise<{ credential?: Credential; warning?: string }> {
    try {
      const credential = await this.app.credentials.resolve(signal ? { signal } : {});
      return credential ? { credential } : {};
    } catch (err) {
      if (signal?.aborted) throw abortError(signal);
      const why = (err as Error).message;
      this.app.log.debug(`models: no credential (${why}); listing anonymously`);
      return { warning: `The credential could not be read (${why}); the model list was fetched without it.` };
    }
  }

  /** Joins the running fetch for `key`, or starts one. */
  private fetchShared(key: string, credential: Credential | undefined, signal: AbortSignal | undefined): Promise<Outcome> {
    let shared = this.inflight.get(key);
    // A fetch whose callers all gave up is being aborted: a new caller needs a new one.
    if (!shared || shared.controller.signal.aborted) {
      const controller = new AbortController();
      const promise = this.fetchOutcome(key, credential, controller.signal).finally(() => {
        if (this.inflight.get(key) === entry) this.inflight.delete(key);
      });
      promise.catch(() => undefined); // Observed by the waiters; none may be left after an abort.
      const entry: SharedFetch = { promise, controller, waiters: 0 };
      this.inflight.set(key, entry);
      shared = entry;
    }
    return this.join(shared, signal);
  }

  private join(shared: SharedFetch, signal: AbortSignal | undefined): Promise<Outcome> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    shared.waiters++;
    if (!signal) return shared.promise.finally(() => shared.waiters--);
    return new Promise<Outcome>((resolve, reject) => {
      const onAbort = () => {
        shared.waiters--;
        if (shared.waiters === 0) shared.controller.abort(signal.reason);
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      shared.promise.then(
        (v) => {
          if (signal.aborted) return;
          signal.removeEventListener('abort', onAbort);
          shared.waiters--;
          resolve(v);
        },
        (e: unknown) => {
          if (signal.aborted) return;
          signal.removeEventListener('abort', onAbort);
          shared.waiters--;
          reject(e);
        },
      );
    });
  }

  /** Fetches, reads and merges the live list; caches it, or records the failure. */
  private async fetchOutcome(key: string, credential: Credential | undefined, signal: AbortSignal): Promise<Outcome> {
    const log = this.app.log;
    let warning: string | undefined;
    try {
      const list = await fetchLiveList(this.app, credential, signal);
      warning = list.credentialRefused;
      if (list.entries.length === 0) throw new LiveListUnavailable('the live list is empty');
      const { facts, skipped } = readLiveEntries(list.entries);
      for (const line of skipped) log.debug(`models: skipping ${line}`);
      if (facts.length === 0) {
        throw new LiveListUnavailable(`none of the ${list.entries.length} entries of the live list is usable (${skipped[0]})`);
      }
      const models = deepFreeze(mergeModels(facts, curatedCatalog(), this.app.config.modelEntries));
      const now = Date.now();
      const snapshot: LiveSnapshot = {
        models,
        byId: new Map(models.map((m) => [m.upstreamId, m])),
        fetchedAt: new Date(now).toISOString(),
        fetchedAtMs: now,
      };
      if (warning) snapshot.warning = warning;
      this.remember(key, snapshot);
      log.debug(`models: ${models.length} models from the live list${skipped.length ? `, ${skipped.length} entries skipped` : ''}`);
      return { kind: 'live', snapshot };
    } catch (err) {
      if (signal.aborted) throw err;
      if (!(err instanceof LiveListUnavailable)) throw err;
      this.failedAt.set(key, Date.now());
      log.info(`models: ${err.message}; using the curated catalog`);
      const outcome: Outcome = { kind: 'fallback', reason: err.message };
      if (warning) outcome.warning = warning;
      return outcome;
    }
  }

  private remember(key: string, snapshot: LiveSnapshot): void {
    this.cache.delete(key);
    this.cache.set(key, snapshot);
    this.failedAt.delete(key);
    while (this.cache.size > MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
  }

  /** The catalog plus config entries: the answer when the live list is unavailable. */
  private fallbackList(): { models: readonly Model[]; byId: ReadonlyMap<string, Model> } {
    if (!this.fallback) {
      const models = deepFreeze(mergeModels(undefined, curatedCatalog(), this.app.config.modelEntries));
      this.fallback = { models, byId: new Map(models.map((m) => [m.upstreamId, m])) };
    }
    return this.fallback;
  }
}

/**
 * Lists are cached per credential, keyed by a digest of its token (the token itself is not kept as
 * a key). The digest is cyrb53, not a cryptographic hash: the key never leaves this process, two
 * tokens in one process meet with odds of 2^-53, and node:crypto is then not loaded for every
 * first chat (3–9 ms).
 */
function cacheKey(credential: Credential | undefined): string {
  if (!credential) return 'anonymous';
  return `${credential.method}:${cyrb53(credential.token).toString(36)}`;
}

/** cyrb53 (bryc, public domain): a fast 53-bit string hash with good dispersion. */
function cyrb53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
