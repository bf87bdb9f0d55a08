import * as fs from 'node:fs';
import * as path from 'node:path';
import { clientNotifications, methodNames, serverNotifications } from '../../lib/methods';
import { ROOT } from '../helpers/rpc-process';

const doc = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'openrpc.json'), 'utf8'));

describe('the OpenRPC document', () => {
  it('lists exactly the methods the server registers, and the notifications a host sends (exit, $/cancelRequest)', () => {
    const documented = doc.methods.filter((m: { 'x-notification'?: boolean }) => !m['x-notification']).map((m: { name: string }) => m.name);
    expect([...documented].sort()).toEqual([...methodNames].sort());
    expect([...clientNotifications].sort()).toEqual(
      ['$/cancelRequest', 'exit', 'initialized', 'notifications/cancelled', 'notifications/initialized'].sort(),
    );
  });

  it('lists every notification the server sends', () => {
    expect(doc['x-notifications'].map((n: { name: string }) => n.name).sort()).toEqual([...serverNotifications].sort());
    expect([...serverNotifications].sort()).toEqual(['auth.authorizeUrl', 'chat.delta', 'chat.status', 'log']);
  });

  it('points every $ref at a schema file that exists', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"#]+/g) ?? [];
    expect(refs.length).toBeGreaterThan(5);
    for (const r of refs) expect(fs.existsSync(path.join(ROOT, 'schemas', r.slice(8)))).toBe(true);
  });

  it('is what the build generates from the schemas (committed up to date)', () => {
    const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
    expect(() =>
      execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-schemas.js'), '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
  });
});
