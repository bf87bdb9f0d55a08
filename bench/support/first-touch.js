// What this machine charges for memory a process touches for the first time: a start, a first chat
// and a process's first burst spend a large part of their time on it (~40% of a bare node start
// here). Printed beside the start-up figures, whose targets are in milliseconds, and on a VM that
// backs its memory lazily a fault on a fresh page can cost over ten microseconds (~14 on the
// machine these benches were tuned on).
'use strict';
const { spawnSync } = require('node:child_process');

const TOUCH_SCRIPT = `
const fs = require('node:fs');
const faults = () => Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
const f0 = faults();
const t0 = process.hrtime.bigint();
const b = Buffer.allocUnsafeSlow(64 << 20);
for (let i = 0; i < b.length; i += 4096) b[i] = 1;
const ns = Number(process.hrtime.bigint() - t0);
console.log(JSON.stringify({ us: ns / 1000 / Math.max(1, faults() - f0), faults: faults() - f0 }));
`;

/** Microseconds per page fault when a fresh 64 MB buffer is touched page by page; undefined where /proc is missing. */
function firstTouchMicros(env) {
  const r = spawnSync(process.execPath, ['-e', TOUCH_SCRIPT], { env, encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const { us, faults } = JSON.parse(r.stdout.trim());
  return faults > 1000 ? us : undefined;
}

module.exports = { firstTouchMicros };
