import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ChutesError } from '../../lib/chutes/errors';
import { Logger } from '../../lib/log/logger';
import { CredentialStore, UntrustedStoreError } from '../../lib/store/credential-store';
import { API_KEY, writeStore } from '../helpers/idp';
import { tempHome } from '../helpers/rpc-process';

const store = (home: string) => new CredentialStore(home, new Logger(() => undefined));
const profile = { a: { method: 'apiKey' as const, apiKey: API_KEY, updatedAt: new Date().toISOString() } };

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('the credential store trusts only what this user made', () => {
  it('refuses a credentials.json that is a symbolic link, never reading, chmod-ing or moving what it points at', async () => {
    const home = tempHome();
    const planted = path.join(tempHome(), 'planted.json');
    fs.writeFileSync(planted, JSON.stringify({ version: 1, profiles: { a: { ...profile.a, apiKey: 'cpk_attacker_key' } } }), {
      mode: 0o644,
    });
    fs.symlinkSync(planted, path.join(home, 'credentials.json'));
    const s = store(home);
    const err = thrown(() => s.read());
    expect(err).toBeInstanceOf(UntrustedStoreError);
    expect((err as ChutesError).message).toMatch(/symbolic link/);
    expect((err as ChutesError).data.resolution).toBeTruthy();
    // A login does not move the link aside or chmod through it either.
    await expect(s.update(() => undefined, { replaceCorrupt: true })).rejects.toBeInstanceOf(UntrustedStoreError);
    expect(fs.statSync(planted).mode & 0o777).toBe(0o644);
    expect(fs.lstatSync(path.join(home, 'credentials.json')).isSymbolicLink()).toBe(true);
  });

  it('refuses a store writable by others, and a home writable by others', () => {
    const home = tempHome();
    const file = writeStore(home, profile);
    fs.chmodSync(file, 0o666);
    expect((thrown(() => store(home).read()) as Error).message).toMatch(/writable by every user/);
    fs.chmodSync(file, 0o600);
    fs.chmodSync(home, 0o777);
    const err = thrown(() => store(home).read()) as ChutesError;
    expect(err).toBeInstanceOf(UntrustedStoreError);
    expect(err.data.resolution).toMatch(/chmod 700/);
  });

  it('refuses a FIFO or a device at credentials.json at once, and a store over the size cap', () => {
    const home = tempHome();
    execFileSync('mkfifo', [path.join(home, 'credentials.json')]);
    expect((thrown(() => store(home).read()) as Error).message).toMatch(/FIFO/);
    const home2 = tempHome();
    fs.writeFileSync(path.join(home2, 'credentials.json'), ' '.repeat(2 * 1024 * 1024), { mode: 0o600 });
    expect((thrown(() => store(home2).read()) as Error).message).toMatch(/larger than 1 MiB/);
  });

  it('parses the file again only when it changed', async () => {
    const home = tempHome();
    writeStore(home, profile);
    const s = store(home);
    const realFs = require('node:fs') as typeof fs;
    const reads = jest.spyOn(realFs, 'readSync');
    try {
      expect(Object.keys(s.read().profiles)).toEqual(['a']);
      const afterFirst = reads.mock.calls.length;
      expect(afterFirst).toBeGreaterThan(0);
      for (let i = 0; i < 5; i++) expect(Object.keys(s.read().profiles)).toEqual(['a']);
      expect(reads.mock.calls.length).toBe(afterFirst);
      // Callers may change what they are given: the cached copy stays as the file is.
      delete s.read().profiles.a;
      expect(Object.keys(s.read().profiles)).toEqual(['a']);
      await s.update((d) => void (d.profiles.b = { ...profile.a }));
      expect(Object.keys(s.read().profiles).sort()).toEqual(['a', 'b']);
    } finally {
      reads.mockRestore();
    }
  });
});
