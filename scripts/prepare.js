#!/usr/bin/env node
// `prepare`: npm runs it after `npm ci`/`npm install` in a clone and before `npm pack`. Builds dist/
// unless it is already built from these very sources (scripts/build-stamp.js), so that `npm pack`
// right after `npm ci` does not build everything a second time.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { staleness } = require('./build-stamp');

if (staleness()) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', 'build'], { cwd: path.resolve(__dirname, '..'), stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
