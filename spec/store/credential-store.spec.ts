import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChutesError } from '../../lib/chutes/errors';
import { Logger } from '../../lib/log/logger';
import { CorruptStoreError, CredentialStore } from '../../lib/store/credential-store';
import { API_KEY, writeStore } from '../helpers/idp';
import { RpcProcess, tempHome } from '../helpers/rpc-process';

function store(home: string, lines: string[] = []): CredentialStore {
  return new CredentialStore(home, new Logger((l) => lines.push(l)));
}

const apiKeyProfile = (key = API_KEY) => ({ method: 'apiKey' as const, apiKey: key, updatedAt: new Date().toISOString() });

describe('the credential store', () => {
  it('creates a 0700 directory and a 0600 file, written through a temp file that does not stay behind', async () => {
    const home = path.join(tempHome(), 'nested', 'home');
    const s = store(home);
    await s.update((d) => void (d.profiles.a = apiKeyProfile()));
    expect(fs.statSync(home).mode & 0o777).toBe(0o700);
    expect(fs.statSync(s.file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(home).sort()).toEqual(['credentials.json']);
    expect(s.read().profiles.a).toMatchObject({ method: 'apiKey', apiKey: API_KEY });
  });

  it('puts a looser directory and file back to 0700 and 0600', async () => {
    const home = tempHome();
    fs.chmodSync(home, 0o755);
    writeStore(home, { a: apiKeyProfile() });
    fs.chmodSync(path.join(home, 'credentials.json'), 0o644);
    const lines: string[] = [];
    const s = store(home, lines);
    s.read();
    expect(fs.statSync(s.file).mode & 0o777).toBe(0o600);
    expect(lines.join('')).toMatch(/readable by others/);
    await s.update((d) => void (d.profiles.b = apiKeyProfile()));
    expect(fs.statSync(home).mode & 0o777).toBe(0o700);
  });

  it('keeps several profiles, and concurrent writers from two stores lose nothing', async () => {
    const home = tempHome();
    const a = store(home);
    const b = store(home);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).update((d) => void (d.profiles[`p${i}`] = apiKeyProfile(`cpk_test_${i}`)))),
    );
    expect(Object.keys(a.read().profiles).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `p${i}`).sort());
  });

  it('does not write when nothing changed', async () => {
    const home = tempHome();
    const s = store(home);
    await s.update((d) => void (d.profiles.a = apiKeyProfile()));
    const before = fs.statSync(s.file).ino;
    await s.update(() => undefined);
    expect(fs.statSync(s.file).ino).toBe(before);
  });

  it.each([
    ['not JSON', '{"version": 1, "profiles": {"a": {"method": "apiKey", "apiKey": "cpk_test_secret_in_file"'],
    ['the wrong shape', JSON.stringify({ version: 1, profiles: { a: { method: 'apiKey', key: 'cpk_test_secret_in_file' } } })],
    ['an unknown version', JSON.stringify({ version: 7, profiles: {} })],
  ])('reports a corrupt file (%s) clearly, without its content, and moves it aside only when a login replaces it', async (_what, text) => {
    const home = tempHome();
    const file = path.join(home, 'credentials.json');
    fs.writeFileSync(file, text, { mode: 0o600 });
    const lines: string[] = [];
    const s = store(home, lines);
    let err: unknown;
    try {
      s.read();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CorruptStoreError);
    expect((err as ChutesError).type).toBe('auth_required');
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/corrupt/);
    expect(JSON.stringify((err as ChutesError).data)).not.toContain('cpk_test_secret_in_file');
    expect((err as ChutesError).data.resolution).toMatch(/moved aside/);
    // A change that is not a login leaves it alone.
    await expect(s.update((d) => void (d.profiles.x = apiKeyProfile()))).rejects.toBeInstanceOf(CorruptStoreError);
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    // A login moves it aside (never overwrites it) and writes a new store.
    await s.update((d) => void (d.profiles.x = apiKeyProfile()), { replaceCorrupt: true });
    const aside = fs.readdirSync(home).filter((f) => f.startsWith('credentials.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(fs.readFileSync(path.join(home, aside[0]!), 'utf8')).toBe(text);
    expect(Object.keys(s.read().profiles)).toEqual(['x']);
    expect(lines.join('')).toMatch(/moved it aside/);
  });

  it('a corrupt store makes the server answer clearly, never crash', async () => {
    const home = tempHome();
    fs.writeFileSync(path.join(home, 'credentials.json'), '{ nope', { mode: 0o600 });
    const p = new RpcProcess({ home });
    try {
      const init = await p.request('initialize', {});
      expect(init.result.auth).toEqual({ authenticated: false, method: null });
      const status = await p.request('auth.status', {});
      expect(status.result).toMatchObject({ authenticated: false, problem: expect.stringMatching(/corrupt/) });
      const logout = await p.request('auth.logout', {});
      expect(logout.error?.code).toBe(-32010);
      expect(logout.error?.message).toMatch(/corrupt/);
      const login = await p.request('auth.login', { method: 'apiKey', apiKey: API_KEY, verify: false });
      expect(login.result.profile).toBe('chutes:default');
      expect(fs.readdirSync(home).some((f) => f.startsWith('credentials.json.corrupt-'))).toBe(true);
      expect((await p.request('auth.status', {})).result).toMatchObject({ authenticated: true, method: 'apiKey' });
      expect(p.schemaProblems).toEqual([]);
      expect(p.child.exitCode).toBeNull();
    } finally {
      await p.stop();
    }
  });
});
