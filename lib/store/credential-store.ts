import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChutesError } from '../chutes/errors';
import type { CredentialsFile, StoredProfile } from '../generated/types';
import type { Logger } from '../log/logger';
import { addSecret } from '../log/redact';
import { validate } from '../schema-validation';

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

  /** The stored profiles. A missing file is an empty store; a corrupt one throws CorruptStoreError. */
  read(): CredentialsFile {
    const r = this.tryRead();
    if (r.corrupt !== undefined) throw new CorruptStoreError(this.file, r.corrupt);
    return r.data;
  }

  private tryRead(): { data: CredentialsFile; corrupt?: undefined } | { data?: undefined; corrupt: string } {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { data: emptyFile() };
      if (code === 'EISDIR') return { corrupt: 'it is a directory' };
      throw new ChutesError('auth_required', {
        message: `The credential store ${this.file} cannot be read (${code ?? (err as Error).message}).`,
        resolution: `Check the permissions of ${this.home} and ${this.file} (they should belong to you, modes 0700 and 0600).`,
      });
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
    this.restrictMode();
    return { data };
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
      if (JSON.stringify(data) !== before) this.writeAtomic(data);
      return result;
    } finally {
      await release().catch((err: Error) => this.log.debug(`releasing ${this.lockfile}: ${err.message}`));
    }
  }

  /** A store someone made readable by others is put back to 0600 (once, with a warning). */
  private restrictMode(): void {
    try {
      const st = fs.statSync(this.file);
      if ((st.mode & 0o077) !== 0) {
        fs.chmodSync(this.file, FILE_MODE);
        this.log.warn(`${this.file} was readable by others (mode ${(st.mode & 0o777).toString(8)}); changed it to 0600`);
      }
    } catch {
      // Best effort: the content was read either way.
    }
  }

  private ensureDir(): void {
    fs.mkdirSync(this.home, { recursive: true, mode: DIR_MODE });
    try {
      const st = fs.statSync(this.home);
      if ((st.mode & 0o077) !== 0) fs.chmodSync(this.home, DIR_MODE);
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
    const tmp = `${this.file}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`;
    const text = `${JSON.stringify(data, null, 2)}\n`;
    let fd: number | undefined;
    try {
      fd = fs.openSync(tmp, 'wx', FILE_MODE);
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
      fs.chmodSync(tmp, FILE_MODE); // in case of an unusual umask
      fs.renameSync(tmp, this.file);
    } catch (err) {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw new ChutesError('auth_required', {
        message: `Cannot write the credential store ${this.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
        resolution: `Check that ${this.home} is writable by you.`,
      });
    }
    try {
      const dirFd = fs.openSync(this.home, 'r');
      try {
        fs.fsyncSync(dirFd);
      } finally {
        fs.closeSync(dirFd);
      }
    } catch {
      // Not every platform can fsync a directory; the rename is done either way.
    }
  }

  private moveAside(): string {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    let aside = `${this.file}.corrupt-${stamp}`;
    if (fs.existsSync(aside)) aside += `-${crypto.randomBytes(3).toString('hex')}`;
    fs.renameSync(this.file, aside);
    // It may still hold secrets.
    fs.chmodSync(aside, 0o600);
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
