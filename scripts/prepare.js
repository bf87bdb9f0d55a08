#!/usr/bin/env node
// `prepare`: npm runs it after `npm ci`/`npm install` in a clone, and when it installs the package
// from a git URL. Builds dist/ (npm run build).
//
// `npm install -g git+https://...` prepares the clone with a nested `npm install` that inherits the
// outer command's global setting (npm_config_global), so the clone's own dependencies go to the
// global prefix instead of its node_modules, and the build then fails with "Cannot find module".
// When the build tools cannot be found here, they are installed into the clone first, locally.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function resolvable(name) {
  try {
    require.resolve(name, { paths: [root] });
    return true;
  } catch {
    return false;
  }
}

function run(args, env = process.env) {
  const r = spawnSync(npm, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!resolvable('typescript') || !resolvable('ajv')) {
  const env = { ...process.env, npm_config_global: 'false', npm_config_location: 'project' };
  delete env.npm_config_prefix;
  process.stderr.write('prepare: installing the build tools into this clone\n');
  run(['install', '--include=dev', '--ignore-scripts', '--no-save', '--no-audit', '--no-fund'], env);
}
// A dist/ already built from these very sources (scripts/build-stamp.js) is not built again.
if (require('./build-stamp').staleness()) run(['run', 'build']);
undoGlobalLinkOfClone();

/**
 * The same inherited global setting makes the nested install link the temporary clone itself into
 * the global prefix (lib/node_modules/chutes-rpc -> the clone). The outer install then unpacks the
 * package through that link into the clone, which npm deletes: what is left is a package without
 * its files. Replacing the link by an empty directory (only for npm's own temporary git clones)
 * lets the outer install unpack into the prefix.
 */
function undoGlobalLinkOfClone() {
  if (process.env.npm_config_global !== 'true' || !/[\\/]_cacache[\\/]tmp[\\/]git-clone/.test(root)) return;
  const fs = require('node:fs');
  const prefix = process.env.npm_config_prefix;
  if (!prefix) return;
  const installed =
    process.platform === 'win32' ? path.join(prefix, 'node_modules', 'chutes-rpc') : path.join(prefix, 'lib', 'node_modules', 'chutes-rpc');
  try {
    if (fs.lstatSync(installed).isSymbolicLink() && fs.realpathSync(installed) === fs.realpathSync(root)) {
      fs.unlinkSync(installed);
      fs.mkdirSync(installed);
    }
  } catch {
    // nothing linked: nothing to undo
  }
}
