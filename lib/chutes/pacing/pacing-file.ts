import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafeFileSync, trustProblem, UnsafeFileError } from '../../util/safe-file';
import type { SendWindow } from './send-window';
import type { ServerLimit } from './server-limits';
import { replaceFileSync } from '../../util/replace-file';

export const PACING_FILE = 'pacing.json';
/** Far above any real state (10 000 send times are about 150 KB). */
const MAX_BYTES = 4 * 1024 * 1024;
const FILE_MODE = 0o600;
/**
 * A holder keeps the lock for a read and a write of a small file (proper-lockfile refreshes it every
 * second meanwhile); older than this, its holder died holding it, and the next process takes it over
 * within its retries instead of waiting them out. proper-lockfile's smallest.
 */
export const LOCK_STALE_MS = 2_000;
/** About 5 s of waiting for other processes in all. */
const LOCK_RETRIES = { retries: 60, factor: 1.2, minTimeout: 2, maxTimeout: 100, randomize: true };

/** One budget in the file: by a credential fingerprint, or a fingerprint and a chute. */
export interface PacedBucket extends SendWindow {
  /** The limit the server last announced for it (X-Chutes-RL-User or -Chute). */
  server?: ServerLimit;
  /** Last change (epoch ms): a bucket unused for a day is dropped. */
  touched: number;
}

export interface PacingState {
  version: 1;
  buckets: Record<string, PacedBucket>;
}

/** The state file cannot be used safely; pacing then keeps to this process (with a warning). */
export class PacingFileError extends Error {
  override readonly name = 'PacingFileError';
}

export function emptyState(): PacingState {
  return { version: 1, buckets: Object.create(null) as Record<string, PacedBucket> };
}

/** Only what pacing needs survives a read: a damaged file is state lost, never a failure. */
function parseState(text: string): PacingState {
  const state = emptyState();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return state;
  }
  const buckets = (value as { buckets?: unknown } | null)?.buckets;
  if (!buckets || typeof buckets !== 'object') return state;
  for (const [key, b] of Object.entries(buckets as Record<string, unknown>)) {
    const { sent, server, touched } = (b ?? {}) as Record<string, unknown>;
    if (!Array.isArray(sent) || !sent.every((t) => typeof t === 'number' && Number.isFinite(t))) continue;
    const bucket: PacedBucket = { sent: (sent as number[]).slice().sort((x, y) => x - y), touched: Number(touched) || 0 };
    if (server === 'inf' || (typeof server === 'number' && server >= 1)) bucket.server = server;
    state.buckets[key] = bucket;
  }
  return state;
}

/**
 * `<home>/pacing.json`: the send times of every paced credential, shared by the adapter processes of
 * one home. Read and written only under its lock (`pacing.json.lock`, proper-lockfile), written
 * atomically (temporary file, rename), mode 0600, with the credential store's rules: never through a
 * symbolic link, and neither the file nor the home may belong to, or be writable by, someone else.
 * It holds fingerprints (hashes), never a credential.
 */
export class PacingFile {
  readonly file: string;
  readonly lockfile: string;

  constructor(readonly home: string) {
    this.file = path.join(home, PACING_FILE);
    this.lockfile = `${this.file}.lock`;
  }

  /** Runs `change` on the state under the lock and writes the result back. */
  async update<T>(change: (state: PacingState) => T): Promise<T> {
    this.ensureHome();
    const release = await this.lock();
    try {
      const state = this.read();
      const result = change(state);
      this.write(state);
      return result;
    } finally {
      await release().catch(() => undefined);
    }
  }

  private ensureHome(): void {
    fs.mkdirSync(this.home, { recursive: true, mode: 0o700 });
    const st = fs.statSync(this.home);
    const me = process.getuid?.();
    const problem = me !== undefined && st.uid !== me ? `is owned by another user (uid ${st.uid})` : trustProblem(st);
    if (problem) throw new PacingFileError(`the home ${this.home} ${problem}`);
  }

  private read(): PacingState {
    let text: string;
    let stat: fs.Stats;
    try {
      ({ text, stat } = readSafeFileSync(this.file, { maxBytes: MAX_BYTES, noFollow: true }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      // Too large or not a regular file: replaced by the write (rename never follows a link, but a link is refused).
      if (err instanceof UnsafeFileError && !/symbolic link/.test(err.why)) return emptyState();
      throw new PacingFileError(err instanceof UnsafeFileError ? err.message : `${this.file}: ${(err as Error).message}`);
    }
    const untrusted = trustProblem(stat);
    if (untrusted) throw new PacingFileError(`${this.file} ${untrusted}`);
    return parseState(text);
  }

  private write(state: PacingState): void {
    try {
      replaceFileSync(this.file, JSON.stringify(state), FILE_MODE, false);
    } catch (err) {
      throw new PacingFileError(`cannot write ${this.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  private async lock(): Promise<() => Promise<void>> {
    const lockfile = require('proper-lockfile') as typeof import('proper-lockfile');
    try {
      return await lockfile.lock(this.file, {
        realpath: false,
        lockfilePath: this.lockfile,
        stale: LOCK_STALE_MS,
        retries: LOCK_RETRIES,
        onCompromised: () => undefined,
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new PacingFileError(`cannot lock ${this.lockfile}: ${e.code === 'ELOCKED' ? 'another process holds it' : e.message}`);
    }
  }
}
