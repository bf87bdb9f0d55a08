import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from '../helpers/rpc-process';

describe('stdout guard', () => {
  it('sends a stray console.log or process.stdout.write to stderr; only the protocol writer reaches stdout', () => {
    const guard = path.join(ROOT, 'dist', 'server', 'stdout-guard.js');
    const script = `
      const write = require(${JSON.stringify(guard)}).guardStdout();
      console.log('stray console.log from a dependency');
      process.stdout.write('stray direct write\\n');
      write('{"jsonrpc":"2.0","id":1,"result":null}\\n', () => {});
    `;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('{"jsonrpc":"2.0","id":1,"result":null}\n');
    expect(r.stderr).toContain('stray console.log from a dependency');
    expect(r.stderr).toContain('stray direct write');
  });
});
