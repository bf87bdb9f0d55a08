import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafeFile, readSafeFileSync, UnsafeFileError } from '../../lib/util/safe-file';
import { tempHome } from '../helpers/rpc-process';

function fifo(): string {
  const file = path.join(tempHome(), 'fifo');
  execFileSync('mkfifo', [file]);
  return file;
}

const both = [
  ['sync', (f: string, o: Parameters<typeof readSafeFileSync>[1]) => Promise.resolve().then(() => readSafeFileSync(f, o))],
  ['async', readSafeFile],
] as const;

describe.each(both)('reading a file safely (%s)', (_name, read) => {
  it('reads a regular file', async () => {
    const file = path.join(tempHome(), 'a.json5');
    fs.writeFileSync(file, '{ a: 1 }');
    expect((await read(file, { maxBytes: 100 })).text).toBe('{ a: 1 }');
  });

  it.each([
    ['a FIFO, without waiting for a writer', fifo, /a FIFO, not a regular file/],
    ['/dev/zero, without reading it', () => '/dev/zero', /character device/],
    ['/dev/urandom', () => '/dev/urandom', /character device/],
    ['a directory', () => tempHome(), /a directory/],
  ])('refuses %s', async (_what, make, why) => {
    const err = await read(make(), { maxBytes: 1024 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsafeFileError);
    expect((err as UnsafeFileError).why).toMatch(why);
  });

  it('refuses a file over the cap', async () => {
    const file = path.join(tempHome(), 'big');
    fs.writeFileSync(file, 'x'.repeat(5000));
    const err = await read(file, { maxBytes: 4096 }).catch((e: unknown) => e);
    expect((err as UnsafeFileError).why).toMatch(/larger than 4 KiB/);
  });

  it('refuses a symbolic link when asked not to follow one, and a world-writable file when asked for trust', async () => {
    const home = tempHome();
    const target = path.join(home, 'target');
    fs.writeFileSync(target, 'secret');
    const link = path.join(home, 'link');
    fs.symlinkSync(target, link);
    expect((await read(link, { maxBytes: 100 })).text).toBe('secret');
    expect(((await read(link, { maxBytes: 100, noFollow: true }).catch((e: unknown) => e)) as UnsafeFileError).why).toMatch(
      /symbolic link/,
    );
    fs.chmodSync(target, 0o666);
    expect(((await read(target, { maxBytes: 100, trusted: true }).catch((e: unknown) => e)) as UnsafeFileError).why).toMatch(
      /writable by every user/,
    );
  });
});
