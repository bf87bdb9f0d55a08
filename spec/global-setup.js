// Jest global setup: many tests spawn bin/chutes-rpc, which runs dist/, so dist/ must be built from
// the sources as they are now. Rebuilds (npm run build) once, before any test, when it is not: when
// any file under lib/, schemas/ or scripts/ (or package.json, package-lock.json, a tsconfig) differs
// from what the last finished build read, or there is no finished build. See scripts/build-stamp.js.
// Also runs on its own (`node spec/global-setup.js`), which `npm test` does before the typecheck so
// that the typecheck sees lib/generated/ as the schemas make it.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { staleness } = require('../scripts/build-stamp');

const root = path.resolve(__dirname, '..');

function buildIfStale() {
  const stale = staleness();
  if (!stale) return;
  const started = Date.now();
  process.stderr.write(`global-setup: rebuilding dist/ (${stale.reason}) ... `);
  const run = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (run.error || run.status !== 0) {
    process.stderr.write('failed\n');
    process.stderr.write(`${run.stdout ?? ''}${run.stderr ?? ''}`);
    throw new Error(
      `npm run build failed (${run.error ? run.error.message : `exit ${run.status}`}): not running the tests against a stale dist/`,
    );
  }
  process.stderr.write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  if (run.stderr.trim()) process.stderr.write(run.stderr); // the build's warnings, if any
  const still = staleness();
  if (still) throw new Error(`dist/ is still not recorded as built from the current sources after npm run build: ${still.reason}`);
}

module.exports = async function globalSetup() {
  buildIfStale();
  require('./helpers/test-tmp').setUpRunTmp();
};

if (require.main === module) {
  try {
    buildIfStale();
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
