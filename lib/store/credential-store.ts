import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChutesError } from '../chutes/errors';
import type { CredentialsFile, StoredProfile } from '../generated/types';
import type { Logger } from '../log/logger';
import { addSecret } from '../log/redact';
import { validate } from '../schema-validation';
import { nodeCrypto } from '../util/lazy-crypto';
import { replaceFileSync } from '../util/replace-file';
import { readSafeFileSync, trustProblem, UnsafeFileError } from '../util/safe-file';

export const CREDENTIALS_FILE = 'credentials.json';
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;

/** How long a holder may keep the lock before others treat it as stale (a refresh takes well under this). */
const LOCK_STALE_MS = 20_000;
/** Retries while waiting for another process: about 40 s in all, longer than any refresh. */
const LOCK_RETRIES = { retries: 80, factor: 1.3, minTimeout: 20, maxTimeout: 500, randomize: true };

/** The store file exists but cannot be used. Carries what to do; never the file's content. */
export class CorruptStoreError extends ChutesError {
  constructor(
    readonly file: string,
    why: string,
  ) {
    super('auth_required', {
      message: `The credential store ${file} is corrupt (${why}); it was left as it is.`,
      resolution:
        'Log in again (chutes-rpc login, chutes-rpc onboard --auth-choice chutes-api-key, or auth.login): the corrupt file is then moved aside to credentials.json.corrupt-<time> and a new one written. Or set CHUTES_API_KEY.',
    });
  }
}

/** Far above any real store (a profile is well under 4 KiB); a larger file is refused unread. */
export const MAX_STORE_BYTES = 1024 * 1024;

/**
 * The store, or its directory, could have been planted or changed by someone else: a symbolic
 * link, a file owned by another user, writable by others. It is never read, moved or changed.
 */
export class UntrustedStoreError extends ChutesError {
  constructor(what: string, why: string, resolution: string) {
    super('auth_required', { message: `The credential store ${what} ${why}; it was not used.`, resolution });
  }
}

function emptyFile(): CredentialsFile {
  return { version: 1, profiles: {} };
}

/**
 * `<home>/credentials.json`: several named profiles, in a 0700 directory, mode 0600, every write
 * atomic (temp file, fsync, rename). Changes happen under a cross-process lock
 * (`credentials.json.lock`, proper-lockfile) and re-read the file once the lock is held, so two
 * processes never lose each other's writes and a refresh is done by one of them only.
 */
export class CredentialStore {
  readonly file: string;
  readonly lockfile: string;

  constructor(
    readonly home: string,
    private readonly log: Logger,
  ) {
    this.file = path.join(home, CREDENTIALS_FILE);
    this.lockfile = `${this.file}.lock`;
  }

  /**
   * The stored profiles. A missing file is an empty store; a corrupt one throws CorruptStoreError,
   * an untrusted one UntrustedStoreError. The file is parsed again only when it changed (inode,
   * size, mtime or ctime), not on every call.
   */
  read(): CredentialsFile {
    const r = this.tryRead();
    if (r.corrupt !== undefined) throw new CorruptStoreError(this.file, r.corrupt);
    return r.data;
  }

  private cached: { key: string; data: CredentialsFile } | undefined;

  private tryRead(): { data: CredentialsFile; corrupt?: undefined } | { data?: undefined; corrupt: string } {
    this.checkHome();
    let link: fs.Stats;
    try {
      link = fs.lstatSync(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { data: emptyFile() };
      throw this.cannotRead(err);
    }
    const key = `${link.dev}:${link.ino}:${link.size}:${link.mtimeMs}:${link.ctimeMs}:${link.mode}:${link.uid}`;
    if (this.cached?.key === key) return { data: structuredClone(this.cached.data) };
    let text: string;
    let stat: fs.Stats;
    try {
      ({ text, stat } = readSafeFileSync(this.file, { maxBytes: MAX_STORE_BYTES, noFollow: true }));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { data: emptyFile() };
      if (err instanceof UnsafeFileError) {
        if (/symbolic link/.test(err.why)) throw new UntrustedStoreError(this.file, err.why, err.resolution);
        return { corrupt: err.why };
      }
      throw this.cannotRead(err);
    }
    const untrusted = trustProblem(stat);
    if (untrusted) {
      throw new UntrustedStoreError(
        this.file,
        untrusted,
        `Move ${this.file} away and log in again; a store owned or writable by someone else may hold their key, not yours.`,
      );
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      // The parser's message may quote the file's content (a token): say only where it failed.
      const at = /position (\d+)/.exec((err as Error).message);
      return { corrupt: `not valid JSON${at ? ` (at character ${at[1]})` : ''}` };
    }
    const problems = validate('credentials', value);
    if (problems.length) {
      const first = problems[0]!;
      return {
        corrupt: `${first.path || '(root)'} ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : ''}`,
      };
    }
    const data = value as CredentialsFile;
    for (const p of Object.values(data.profiles)) registerSecrets(p);
    if (this.restrictMode(stat)) return { data };
    this.cached = { key, data: structuredClone(data) };
    return { data };
  }

  private cannotRead(err: unknown): ChutesError {
    const code = (err as NodeJS.ErrnoException).code;
    return new ChutesError('auth_required', {
      message: `The credential store ${this.file} cannot be read (${code ?? (err as Error).message}).`,
      resolution: `Check the permissions of ${this.home} and ${this.file} (they should belong to you, modes 0700 and 0600).`,
    });
  }

  /** The home must belong to this user and be writable by nobody else: otherwise anyone could plant a store there. */
  private checkHome(): void {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.home);
    } catch {
      return; // No home yet: nothing stored.
    }
    const me = process.getuid?.();
    const problem = me !== undefined && st.uid !== me ? `is owned by another user (uid ${st.uid})` : trustProblem(st);
    if (problem) {
      throw new UntrustedStoreError(
        `directory ${this.home}`,
        problem,
        me !== undefined && st.uid !== me
          ? `Use a home of your own (--home or CHUTES_RPC_HOME); someone else's directory may hold their files, not yours.`
          : `Make it yours alone: chmod 700 ${this.home}`,
      );
    }
  }

  /**
   * Changes the store under the cross-process lock: re-reads the file once the lock is held, calls
   * `change` (which may do network calls: a refresh holds the lock while it runs), and writes the
   * file back atomically if the data changed. A corrupt file is moved aside first, with a warning,
   * only when `replaceCorrupt` is set (a login); otherwise the corrupt error is thrown.
   */
  async update<T>(change: (data: CredentialsFile) => T | Promise<T>, opts: { replaceCorrupt?: boolean } = {}): Promise<T> {
    this.ensureDir();
    const release = await this.lock();
    try {
      let r = this.tryRead();
      if (r.corrupt !== undefined) {
        if (!opts.replaceCorrupt) throw new CorruptStoreError(this.file, r.corrupt);
        const aside = this.moveAside();
        this.log.warn(`the credential store ${this.file} was corrupt (${r.corrupt}); moved it aside to ${aside}`);
        r = { data: emptyFile() };
      }
      const data = r.data;
      const before = JSON.stringify(data);
      const result = await change(data);
      if (JSON.stringify(data) !== before) {
        this.cached = undefined;
        this.writeAtomic(data);
      }
      return result;
    } finally {
      await release().catch((err: Error) => this.log.debug(`releasing ${this.lockfile}: ${err.message}`));
    }
  }

  /**
   * A store someone made readable by others is put back to 0600 (once, with a warning), through a
   * descriptor opened without following links, so a link swapped in meanwhile is never changed.
   * Returns whether the mode was changed (the file's ctime then moved: it is not cached).
   */
  private restrictMode(st: fs.Stats): boolean {
    if ((st.mode & 0o077) === 0) return false;
    try {
      const fd = fs.openSync(this.file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0));
      try {
        const now = fs.fstatSync(fd);
        if (now.ino !== st.ino || now.dev !== st.dev || !now.isFile()) return false;
        fs.fchmodSync(fd, FILE_MODE);
      } finally {
        fs.closeSync(fd);
      }
      this.log.warn(`${this.file} was readable by others (mode ${(st.mode & 0o777).toString(8)}); changed it to 0600`);
    } catch {
      // Best effort: the content was read either way.
    }
    return true;
  }

  /** Creates the home 0700, or puts a home of this user's back to 0700; another user's home is refused. */
  private ensureDir(): void {
    fs.mkdirSync(this.home, { recursive: true, mode: DIR_MODE });
    const st = fs.statSync(this.home);
    const me = process.getuid?.();
    if (me !== undefined && st.uid !== me) this.checkHome();
    if ((st.mode & 0o077) === 0) return;
    try {
      fs.chmodSync(this.home, DIR_MODE);
    } catch (err) {
      this.log.warn(`cannot restrict ${this.home} to mode 0700: ${(err as Error).message}`);
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
        // The default throws from a timer, which would crash the process.
        onCompromised: (err) => this.log.warn(`the lock ${this.lockfile} was lost: ${err.message}`),
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new ChutesError('auth_required', {
        message: `Cannot lock the credential store (${this.lockfile}): ${e.code === 'ELOCKED' ? 'another chutes-rpc process holds it' : e.message}.`,
        resolution: `Retry; if no other chutes-rpc process is running, remove ${this.lockfile}.`,
        retryable: true,
      });
    }
  }

  /** Writes to a temporary file in the same directory, fsyncs it, and renames it over the store. */
  private writeAtomic(data: CredentialsFile): void {
    try {
      replaceFileSync(this.file, `${JSON.stringify(data, null, 2)}\n`, FILE_MODE, true);
    } catch (err) {
      throw new ChutesError('auth_required', {
        message: `Cannot write the credential store ${this.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
        resolution: `Check that ${this.home} is writable by you.`,
      });
    }
  }

  /** Renames a corrupt store aside, 0600 first (it may hold secrets): through a descriptor, never through a link. */
  private moveAside(): string {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    let aside = `${this.file}.corrupt-${stamp}`;
    if (fs.existsSync(aside)) aside += `-${randomHex(3)}`;
    try {
      const fd = fs.openSync(this.file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0));
      try {
        if (fs.fstatSync(fd).isFile()) fs.fchmodSync(fd, FILE_MODE);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // A link or special file: renamed as it is (rename never follows a link), not changed.
    }
    fs.renameSync(this.file, aside);
    this.cached = undefined;
    return aside;
  }
}

/** Every secret read from or written to the store is masked in logs and errors. */
export function registerSecrets(p: StoredProfile): void {
  if (p.method === 'apiKey') addSecret(p.apiKey);
  else {
    addSecret(p.accessToken);
    addSecret(p.refreshToken);
    addSecret(p.clientSecret);
  }
}

/** Random hex for a file name (node:crypto is loaded then, not with this module: see lazy-crypto). */
function randomHex(bytes: number): string {
  return nodeCrypto().randomBytes(bytes).toString('hex');
}
