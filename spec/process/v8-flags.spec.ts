import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { cleanEnv } from '../helpers/rpc-process';

/** A relative require, resolved against the working directory, as node's loader resolves the launcher's own. */
const ROOT = path.join(__dirname, '..', '..');

// The launcher sets its V8 flags at run time, after node has compiled and run regular expressions
// of its own (bin/v8-flags.js). Not every flag can be: with --no-regexp-tier-up added, node crashed
// (SIGSEGV) in the native code of an expression of its module loader as soon as undici loaded. This
// loads modules through that loader on both sides of that moment, as the launcher does, then runs
// node's expressions for addresses often enough to be compiled to native code.
const ACROSS_THE_FLAGS = `
const net = require('node:net');
require('./bin/v8-flags.js').applyV8Flags();
const { Agent } = require('undici');
new Agent().close();
for (let i = 0; i < 50; i++) {
  if (net.isIPv6('llm.chutes.ai') || !net.isIPv6('::1') || !net.isIPv4('127.0.0.' + (i % 250))) throw new Error('net.isIP is wrong');
}
if ('a1b22c333'.replace(/\\d+/g, (d) => String(d.length)) !== 'a1b2c3') throw new Error('replace is wrong');
console.log('ok');
`;

describe('the V8 flags (bin/v8-flags.js)', () => {
  it('leave the regular expressions compiled before and after them working', () => {
    const r = spawnSync(process.execPath, ['-e', ACROSS_THE_FLAGS], {
      env: cleanEnv(),
      encoding: 'utf8',
      cwd: ROOT,
    });
    expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    expect(r.stdout.trim()).toBe('ok');
  });
});
