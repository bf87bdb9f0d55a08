import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Replaces `file` with `text` in one step: the text goes to a new temporary file beside it (never
 * over an existing file, so never through a link), created with `mode`, which is then renamed over
 * `file`: a reader sees the old content or the new, never part of either.
 *
 * `durable` (the credential store): the text reaches the disk before the rename (fsync), the rename
 * after it (the directory's fsync, where the platform can), and the mode is set again whatever the
 * umask took off. Without it (the pacing state, written for every paced request) none of that.
 *
 * Throws the file system's error, after removing the temporary file.
 */
export function replaceFileSync(file: string, text: string, mode: number, durable: boolean): void {
  const tmp = temporaryName(file);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', mode);
    fs.writeFileSync(fd, text);
    if (durable) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    if (durable) fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  if (durable) fsyncDirectory(path.dirname(file));
}

/** Temporary files made by this process so far: with the pid and the time, a name no other writer uses. */
let made = 0;

/**
 * The temporary file's name: unique without drawing random bytes (node:crypto, ~6 ms to load, was
 * once the cost of every first paced chat). It is created exclusively all the same ('wx').
 */
function temporaryName(file: string): string {
  made++;
  return `${file}.${process.pid}.${Date.now().toString(36)}.${made.toString(36)}.tmp`;
}

function fsyncDirectory(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Not every platform can fsync a directory; the rename is done either way.
  }
}
