import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeConfig } from '../helpers/loopback';
import { BIN, cleanEnv, tempHome } from '../helpers/rpc-process';

describe('chutes-rpc config validate FILE', () => {
  it('prints file, path and message for each problem and exits 1', () => {
    const file = writeConfig(tempHome(), '{ models: { providers: { chutes: { nope: 1, teeOnly: 3 } } } }');
    let out = '';
    let status = 0;
    try {
      execFileSync(process.execPath, [BIN, 'config', 'validate', file], { env: cleanEnv(), encoding: 'utf8' });
    } catch (err) {
      const e = err as { stdout: string; status: number };
      out = e.stdout;
      status = e.status;
    }
    expect(status).toBe(1);
    expect(out).toContain(`${file}: /models/providers/chutes/nope: is not a known property`);
    expect(out).toContain(`${file}: /models/providers/chutes/teeOnly: must be boolean`);
  });

  it('says valid and exits 0 for a good file', () => {
    const file = writeConfig(tempHome(), '{ agents: { defaults: { model: "chutes/x" } } }');
    const out = execFileSync(process.execPath, [BIN, 'config', 'validate', file], { env: cleanEnv(), encoding: 'utf8' });
    expect(out.trim()).toBe(`${file}: valid`);
  });

  it('exits non-zero with help for an unknown action', () => {
    const r = require('node:child_process').spawnSync(process.execPath, [BIN, 'config', 'bogus'], { env: cleanEnv(), encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/validate/);
  });

  it('exits 1 for a missing file', () => {
    const file = path.join(tempHome(), 'absent.json5');
    expect(fs.existsSync(file)).toBe(false);
    expect(() => execFileSync(process.execPath, [BIN, 'config', 'validate', file], { env: cleanEnv(), stdio: 'pipe' })).toThrow();
  });
});
