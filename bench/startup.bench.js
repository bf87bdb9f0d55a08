#!/usr/bin/env node
// Start-up: spawn to the first initialize reply, against spawning a bare `node -e 0` to its exit,
// alternating the two in one run. Target: at most 1.5x bare node.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const BIN = path.join(__dirname, '..', 'bin', 'chutes-rpc');
const RUNS = Number(process.env.BENCH_RUNS || 25);
const TARGET = 1.5;

function bareNode() {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
  });
}

function adapter() {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(process.execPath, [BIN, 'serve'], {
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { ...process.env, CHUTES_RPC_HOME: '/nonexistent-bench-home' },
    });
    c.on('error', reject);
    let out = '';
    c.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (!out.includes('"protocolVersion"')) return reject(new Error(`unexpected reply: ${out}`));
        c.stdin.end();
        c.on('exit', () => resolve(ms));
      }
    });
    c.stdin.write('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n');
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  await bareNode();
  await adapter();
  const bare = [];
  const ours = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(await bareNode());
    ours.push(await adapter());
  }
  const b = median(bare);
  const a = median(ours);
  const ratio = a / b;
  console.log(`bare node -e 0:            median ${b.toFixed(1)} ms (${RUNS} runs)`);
  console.log(`chutes-rpc to initialize:  median ${a.toFixed(1)} ms`);
  console.log(`ratio: ${ratio.toFixed(2)}x bare node (target <= ${TARGET}x) ${ratio <= TARGET ? 'OK' : 'MISSED'}`);
  process.exit(ratio <= TARGET ? 0 : 1);
})().catch((err) => {
  console.error(err);
  process.exit(2);
});
