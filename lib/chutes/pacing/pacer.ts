import type { RateLimitSettings } from '../../config/load';
import type { Logger } from '../../log/logger';
import { sleep } from '../../util/abort';
import type { Credential } from '../credentials';
import type { HeaderBag } from '../http/headers';
import { emptyState, type PacedBucket, PacingFile, PacingFileError, type PacingState } from './pacing-file';
import { prune, release, reserve } from './send-window';
import { type ServerLimit, serverLimits, userBudget } from './server-limits';
import { sha256Hex } from '../../util/sha256';

export const DEFAULT_WINDOW_MS = 60_000;
/** Test-only: a shorter window, so that the cross-process test runs in seconds, not minutes. */
export const WINDOW_ENV = 'CHUTES_RPC_PACING_WINDOW_MS';
/**
 * A spent token comes back one window plus this much later. A request reaches the server a little
 * after it is sent, and a send over a new connection (a TLS handshake) later than one over a warm
 * one: without it, the first of a minute's sends could arrive late enough to be counted in the same
 * minute as the first sends of the next. It costs under 2% of a minute's budget.
 */
export const ARRIVAL_MARGIN_MS = 1_000;
/** A bucket nobody used for this long is dropped from the state. */
const FORGET_AFTER_MS = 24 * 60 * 60_000;
/**
 * How long close() waits for the state file's updates in flight. One normally takes a few ms; a
 * process that exited during one left its lock behind, and the next process's first request waited
 * for that lock to go stale.
 */
export const CLOSE_WAIT_MS = 3_000;

export interface PaceRequest {
  credential: Credential;
  /** The chute (model id) the request goes to, for a per-chute limit the server announced. */
  chute: string;
  signal: AbortSignal;
  /** Told before a wait: how long, and the budget that caused it. */
  onWait?: (wait: { delayMs: number; limit: number }) => Promise<void> | void;
}

interface Keys {
  user: string;
  chute: string;
}

interface Slot {
  at: number;
  limit: number;
}

/** A send that went through the pacer: where it stands in the window. */
export interface PacedSend {
  keys: Keys;
  at: number;
}

interface Pending {
  op: (state: PacingState) => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

function insertSorted(times: number[], t: number): void {
  let i = times.length;
  while (i > 0 && times[i - 1]! > t) i--;
  times.splice(i, 0, t);
}

/** A fingerprint of the credential that never reveals it: a sign-in by its profile (its tokens rotate), a key by its hash. */
export function credentialFingerprint(c: Credential): string {
  const identity = c.method === 'oauth' && c.profile !== undefined ? `oauth-profile:${c.profile}` : `token:${c.token}`;
  return sha256Hex(`chutes-rpc pacing\0${identity}`).slice(0, 32);
}

export function windowMsFrom(env: NodeJS.ProcessEnv): number {
  const n = Number(env[WINDOW_ENV]);
  return Number.isInteger(n) && n >= 100 && n <= DEFAULT_WINDOW_MS ? n : DEFAULT_WINDOW_MS;
}

/**
 * Client-side pacing of chat requests, per credential, across every process sharing the home.
 *
 * Each request reserves a send time in the shared state file under its lock, then waits for it
 * (announced through onWait, cancellable). A request that waited checks again when its turn comes,
 * against what the others recorded meanwhile: once a send is answered, its time moves to the
 * answer's (by then the server has counted it), so a send that took long to arrive still keeps the
 * next ones a whole window away. There is no lock-free fast path: a process that did not
 * read the file cannot know what the others sent, so it could not stay correct. Instead the requests
 * of one process that arrive together share one lock, one read and one write (a few ms on a local
 * disk, nothing beside a chat request). When the file cannot be used safely (another user's file, a
 * link, a lock that is never freed), pacing keeps to this process, with one warning.
 */
export class Pacer {
  private readonly file: PacingFile;
  /** This process's own state: used when the file cannot be, and for the limits learned from headers. */
  private memory: PacingState = emptyState();
  private fileBroken = false;
  private queue: Pending[] = [];
  /** Runs the queue until it is empty; undefined when it is. */
  private drainRun: Promise<void> | undefined;
  /** How long after a send its token comes back: the window and the arrival margin. */
  private readonly spacingMs: number;

  constructor(
    home: string,
    private readonly settings: RateLimitSettings,
    private readonly log: Logger,
    readonly windowMs: number = DEFAULT_WINDOW_MS,
  ) {
    this.file = new PacingFile(home);
    this.spacingMs = windowMs + Math.min(ARRIVAL_MARGIN_MS, Math.floor(windowMs / 2));
  }

  get enabled(): boolean {
    return this.settings.requestsPerMinute > 0;
  }

  /**
   * Waits until the request fits the budget; rejects with the signal's reason when cancelled while
   * waiting. Resolves with the send's ticket: hand it to `sent` once the answer's headers are in.
   */
  async pace(req: PaceRequest): Promise<PacedSend | undefined> {
    if (!this.enabled) return undefined;
    const user = credentialFingerprint(req.credential);
    const keys = { user, chute: `${user}/${req.chute.slice(0, 200)}` };
    let slot = await this.enqueue((state) => this.reserveIn(state, keys));
    if (!slot) return undefined;
    let announced = false;
    try {
      while (slot.at > Date.now()) {
        const delayMs = Math.ceil(slot.at - Date.now());
        if (!announced) await req.onWait?.({ delayMs, limit: slot.limit });
        announced = true;
        await sleep(Math.max(0, slot.at - Date.now()), req.signal);
        // Checked again with what the others recorded meanwhile (their answers' times), and moved on if it no longer fits.
        const before: number = slot.at;
        slot = (await this.enqueue((state) => this.confirmIn(state, keys, before))) ?? { at: Date.now(), limit: slot.limit };
      }
    } catch (err) {
      // The slot goes back, so that a cancelled call does not spend the budget of the others.
      const at = slot.at;
      await this.enqueue((state) => this.forEach(state, keys, (b) => release(b, at))).catch(() => undefined);
      throw err;
    }
    return { keys, at: slot.at };
  }

  /**
   * The answer of a paced send has arrived: its time in the window moves from when it was sent to
   * now, by when the server surely counted it, so that later sends keep a whole window from it even
   * when it took long to arrive (a starved process, a slow connection).
   */
  async sent(send: PacedSend | undefined): Promise<void> {
    if (!send) return;
    const now = Date.now();
    if (now <= send.at) return;
    await this.enqueue((state) =>
      this.forEach(state, send.keys, (b) => {
        release(b, send.at);
        insertSorted(b.sent, now);
      }),
    ).catch(() => undefined);
  }

  /** Learns the limits the server announced (X-Chutes-RL-User, X-Chutes-RL-Chute) for later requests. */
  async observe(credential: Credential, chute: string, headers: HeaderBag): Promise<void> {
    if (!this.enabled) return;
    const { user, chute: chuteLimit } = serverLimits(headers);
    if (user === undefined && chuteLimit === undefined) return;
    const fp = credentialFingerprint(credential);
    const changes: Array<[string, ServerLimit]> = [];
    if (user !== undefined) changes.push([fp, user]);
    if (chuteLimit !== undefined) changes.push([`${fp}/${chute.slice(0, 200)}`, chuteLimit]);
    // Written only when it changes: the same announcement on every answer costs no lock.
    const known = (key: string) => this.memory.buckets[key]?.server;
    if (changes.every(([key, limit]) => known(key) === limit)) return;
    for (const [key, limit] of changes) this.bucket(this.memory, key).server = limit;
    await this.enqueue((state) => {
      for (const [key, limit] of changes) this.bucket(state, key).server = limit;
    }).catch(() => undefined);
  }

  /**
   * Waits, up to CLOSE_WAIT_MS, until the queue of state-file updates is empty, so that the process
   * does not exit holding its lock.
   */
  async close(): Promise<void> {
    const deadline = Date.now() + CLOSE_WAIT_MS;
    while (this.drainRun && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.drainRun, new Promise((resolve) => (timer = setTimeout(resolve, deadline - Date.now())))]);
      clearTimeout(timer);
    }
  }

  /** Runs `op` on the state; the operations queued meanwhile share one lock, one read and one write. */
  private enqueue<T>(op: (state: PacingState) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (v: unknown) => void, reject });
      // finally() runs in a later turn than this assignment, however soon the drain ends.
      this.drainRun ??= this.drain().finally(() => (this.drainRun = undefined));
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      try {
        const results = await this.transact((state) => batch.map((p) => p.op(state)));
        batch.forEach((p, i) => p.resolve(results[i]));
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
  }

  private forEach(state: PacingState, keys: Keys, fn: (b: PacedBucket) => void): void {
    for (const key of [keys.user, keys.chute]) {
      const b = state.buckets[key];
      if (b) fn(b);
    }
  }

  /** The budgets a request of `keys` must fit, pruned. */
  private windowsIn(state: PacingState, keys: Keys): Array<{ window: PacedBucket; limit: number }> {
    const now = Date.now();
    const userBucket = this.bucket(state, keys.user);
    const limit = userBudget(this.settings, userBucket.server ?? this.memory.buckets[keys.user]?.server);
    const windows: Array<{ window: PacedBucket; limit: number }> = [];
    if (limit !== undefined) windows.push({ window: userBucket, limit });
    const chuteServer = state.buckets[keys.chute]?.server ?? this.memory.buckets[keys.chute]?.server;
    if (typeof chuteServer === 'number') windows.push({ window: this.bucket(state, keys.chute), limit: chuteServer });
    for (const w of windows) {
      prune(w.window, now, this.spacingMs);
      w.window.touched = now;
    }
    return windows;
  }

  private reserveIn(state: PacingState, keys: Keys): Slot | undefined {
    const windows = this.windowsIn(state, keys);
    if (!windows.length) return undefined;
    const at = reserve(windows, Date.now(), this.spacingMs);
    return { at, limit: Math.min(...windows.map((w) => w.limit)) };
  }

  /** A waiting send's turn has come: it goes now if it still fits, else it gets the next slot that does. */
  private confirmIn(state: PacingState, keys: Keys, at: number): Slot | undefined {
    this.forEach(state, keys, (b) => release(b, at));
    const windows = this.windowsIn(state, keys);
    if (!windows.length) return undefined;
    const now = Date.now();
    // Only the sends before it count now: the ones reserved after it check again when their turn comes.
    let next = now;
    for (const { window, limit } of windows) {
      const before = window.sent.filter((t) => t <= now);
      if (before.length >= limit) next = Math.max(next, before[before.length - limit]! + this.spacingMs);
    }
    for (const { window } of windows) insertSorted(window.sent, next);
    return { at: next, limit: Math.min(...windows.map((w) => w.limit)) };
  }

  private bucket(state: PacingState, key: string): PacedBucket {
    let b = state.buckets[key];
    if (!b) {
      b = { sent: [], touched: Date.now() };
      state.buckets[key] = b;
    }
    return b;
  }

  /** Runs a change on the shared state (or this process's, once the file failed), dropping what is stale. */
  private async transact<T>(change: (state: PacingState) => T): Promise<T> {
    const run = (state: PacingState): T => {
      const result = change(state);
      const now = Date.now();
      for (const [key, b] of Object.entries(state.buckets)) {
        prune(b, now, this.spacingMs);
        if (!b.sent.length && now - b.touched > FORGET_AFTER_MS) delete state.buckets[key];
      }
      return result;
    };
    if (!this.fileBroken) {
      try {
        return await this.file.update(run);
      } catch (err) {
        if (!(err instanceof PacingFileError) && (err as NodeJS.ErrnoException).code === undefined) throw err;
        this.fileBroken = true;
        this.log.warn(`pacing keeps to this process from now on: ${(err as Error).message}`);
      }
    }
    return run(this.memory);
  }
}
