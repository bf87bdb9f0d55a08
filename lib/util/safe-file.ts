import * as fs from 'node:fs';
import * as path from 'node:path';

/** A file that must not be read: not a regular file, too large, a link where none is allowed, or untrusted. */
export class UnsafeFileError extends Error {
  override readonly name = 'UnsafeFileError';

  constructor(
    readonly file: string,
    /** What is wrong, for a message: "is not a regular file (a FIFO)", "is larger than 4 MiB", ... */
    readonly why: string,
    /** What to do about it. */
    readonly resolution: string,
  ) {
    super(`${file} ${why}`);
  }
}

export interface SafeReadOptions {
  /** Refuse a larger file (checked on its size, and again while reading in case it grows). */
  maxBytes: number;
  /** Refuse a symbolic link at the last component (O_NOFOLLOW). */
  noFollow?: boolean;
  /** Refuse a file owned by another user, or writable by others (see trustProblem). */
  trusted?: boolean;
}

export interface SafeRead {
  text: string;
  stat: fs.Stats;
}

// O_NONBLOCK: opening a FIFO for reading must not wait for a writer (it is then refused by fstat).
const BASE_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);
const NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

function kind(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export function formatSize(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / (1024 * 1024))} MiB` : n >= 1024 ? `${Math.round(n / 1024)} KiB` : `${n} bytes`;
}

function tooLarge(file: string, maxBytes: number): UnsafeFileError {
  return new UnsafeFileError(file, `is larger than ${formatSize(maxBytes)}`, `Give a file of at most ${formatSize(maxBytes)}.`);
}

function checkOpened(file: string, st: fs.Stats, opts: SafeReadOptions): void {
  if (!st.isFile()) throw new UnsafeFileError(file, `is ${kind(st)}, not a regular file`, 'Give the path of a regular file.');
  if (st.size > opts.maxBytes) throw tooLarge(file, opts.maxBytes);
  if (opts.trusted) {
    const problem = trustProblem(st);
    if (problem) throw new UnsafeFileError(file, problem, fixFor(file, st));
  }
}

function linkRefused(file: string, err: unknown): UnsafeFileError | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  // Linux says ELOOP for O_NOFOLLOW on a link; some systems EMLINK or EFTYPE.
  if (code === 'ELOOP' || code === 'EMLINK' || code === 'EFTYPE') {
    return new UnsafeFileError(
      file,
      'is a symbolic link, which is not followed here',
      `Replace the link with the file itself (a file planted by someone else could be read otherwise).`,
    );
  }
  return undefined;
}

/**
 * Reads a whole file as UTF-8 without ever blocking on it or holding more than `maxBytes`: a FIFO,
 * a device (/dev/zero), a directory or an oversized file is refused with UnsafeFileError, and so
 * is a link or an untrusted file when asked. Other errors (ENOENT, EACCES) are thrown as they are.
 */
export function readSafeFileSync(file: string, opts: SafeReadOptions): SafeRead {
  let fd: number;
  try {
    fd = fs.openSync(file, BASE_FLAGS | (opts.noFollow ? NOFOLLOW : 0));
  } catch (err) {
    throw (opts.noFollow && linkRefused(file, err)) || err;
  }
  try {
    const stat = fs.fstatSync(fd);
    checkOpened(file, stat, opts);
    const parts: Buffer[] = [];
    let n = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(64 * 1024, Math.max(stat.size + 1, 4096)));
      const got = fs.readSync(fd, buf, 0, buf.length, null);
      if (got === 0) break;
      n += got;
      if (n > opts.maxBytes) throw tooLarge(file, opts.maxBytes);
      parts.push(buf.subarray(0, got));
    }
    return { text: Buffer.concat(parts, n).toString('utf8'), stat };
  } finally {
    fs.closeSync(fd);
  }
}

/** readSafeFileSync off the main thread's critical path: every step is asynchronous. */
export async function readSafeFile(file: string, opts: SafeReadOptions): Promise<SafeRead> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, BASE_FLAGS | (opts.noFollow ? NOFOLLOW : 0));
  } catch (err) {
    throw (opts.noFollow && linkRefused(file, err)) || err;
  }
  try {
    const stat = await handle.stat();
    checkOpened(file, stat, opts);
    const parts: Buffer[] = [];
    let n = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(64 * 1024);
      const { bytesRead } = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > opts.maxBytes) throw tooLarge(file, opts.maxBytes);
      parts.push(buf.subarray(0, bytesRead));
    }
    return { text: Buffer.concat(parts, n).toString('utf8'), stat };
  } finally {
    await handle.close();
  }
}

const uid = (): number | undefined => process.getuid?.();
const gid = (): number | undefined => process.getgid?.();

/**
 * Why a file or directory cannot be trusted to hold this user's settings or credentials, or
 * undefined: owned by another user (root excepted), or writable by others (world-writable, or
 * group-writable with a group other than the user's own primary group). Not checked where the
 * platform has no uids (Windows).
 */
export function trustProblem(st: fs.Stats): string | undefined {
  const me = uid();
  if (me === undefined) return undefined;
  if (st.uid !== me && st.uid !== 0) return `is owned by another user (uid ${st.uid})`;
  if (st.mode & 0o002) return `is writable by every user (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`;
  if (st.mode & 0o020 && st.gid !== gid()) {
    return `is writable by the group ${st.gid} (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')})`;
  }
  return undefined;
}

function fixFor(file: string, st: fs.Stats): string {
  const me = uid();
  if (me !== undefined && st.uid !== me && st.uid !== 0) {
    return `Move ${file} away and create your own (someone else may have planted it); if it is yours, chown it to yourself.`;
  }
  return `Remove write access for others: chmod go-w ${file}`;
}

/** Why the directory holding `file` cannot be trusted (someone else could replace the file), or undefined. */
export function directoryTrustProblem(file: string): UnsafeFileError | undefined {
  const dir = path.dirname(file);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return undefined;
  }
  const problem = trustProblem(st);
  // A sticky world-writable directory (/tmp) lets nobody replace another user's file.
  if (!problem || (st.mode & 0o1000 && st.uid === 0 && !problem.startsWith('is owned'))) return undefined;
  return new UnsafeFileError(dir, problem, fixFor(dir, st));
}
