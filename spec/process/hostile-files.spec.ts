import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempHome, withServer } from '../helpers/rpc-process';

describe('files a host or another user points the server at', () => {
  it('config.validate refuses /dev/zero, /dev/urandom, a FIFO and a directory at once, and keeps answering', async () => {
    const dir = tempHome();
    const fifo = path.join(dir, 'fifo.json5');
    execFileSync('mkfifo', [fifo]);
    await withServer({}, async (p) => {
      const replies = await Promise.all(
        ['/dev/zero', '/dev/urandom', fifo, dir].map((file) => p.request('config.validate', { path: file })),
      );
      for (const r of replies) {
        expect(r.result.valid).toBe(false);
        expect(r.result.errors[0].message).toMatch(/not a regular file/);
      }
      expect((await p.request('config.validate', { config: {} })).result.valid).toBe(true);
      expect(p.schemaProblems).toEqual([]);
    });
  });

  it('a FIFO or a link to /dev/zero at credentials.json does not hang initialize or auth.status', async () => {
    for (const plant of ['fifo', 'zero'] as const) {
      const home = tempHome();
      const file = path.join(home, 'credentials.json');
      if (plant === 'fifo') execFileSync('mkfifo', [file]);
      else fs.symlinkSync('/dev/zero', file);
      await withServer({ home }, async (p) => {
        const init = await p.request('initialize', {});
        expect(init.result.auth).toEqual({ authenticated: false, method: null });
        const status = await p.request('auth.status', {});
        expect(status.result.authenticated).toBe(false);
        expect(status.result.problem).toMatch(plant === 'fifo' ? /FIFO/ : /symbolic link/);
      });
    }
  });

  it('a config under the home that others can write is not used: its problem is reported instead', async () => {
    const home = tempHome();
    const file = path.join(home, 'config.json5');
    fs.writeFileSync(file, JSON.stringify({ models: { providers: { chutes: { apiKey: 'cpk_planted_by_someone' } } } }));
    fs.chmodSync(file, 0o666);
    await withServer({ home }, async (p) => {
      const init = await p.request('initialize', {});
      expect(JSON.stringify(init.result.configProblems)).toMatch(/writable by every user/);
      expect(init.result.auth.authenticated).toBe(false);
    });
  });
});
