#!/usr/bin/env node
// `prepare`: npm runs it after `npm ci`/`npm install` in a clone and before `npm pack`. Builds dist/
// unless it is already built from these very sources (scripts/build-stamp.js), so that `npm pack`
// right after `npm ci` does not build everything a second time.
//
// `npm install -g git+URL` (and `github:owner/repo`) clones the repository into a temporary
// directory and, before packing it, runs `npm install` there so that `prepare` can build. But npm
// hands its own `-g`/`--prefix` to that inner npm through the environment (npm_config_global,
// npm_config_prefix), so the inner npm installs the clone *globally*, as a link, instead of
// installing its dependencies into it, and the build finds no ajv, typescript or esbuild
// (npm/cli#8440, npm 7 to 11). When the build tools are missing, this script installs them into the
// clone itself from package-lock.json (`npm ci`, with the global settings removed from its
// environment); that `npm ci` runs this script again, which then builds.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const INSTALLING = 'CHUTES_RPC_PREPARE_INSTALLING';
// What the build itself loads: from dependencies (ajv) and devDependencies (typescript, esbuild).
const BUILD_TOOLS = ['ajv', 'typescript', 'esbuild'];

function missingTools() {
  return BUILD_TOOLS.filter((name) => {
    try {
      require.resolve(`${name}/package.json`, { paths: [root] });
      return false;
    } catch {
      return true;
    }
  });
}

const missing = missingTools();
if (missing.length > 0) {
  if (process.env[INSTALLING]) {
    console.error(`chutes-rpc prepare: ${missing.join(', ')} still missing after npm ci in ${root}`);
    process.exit(1);
  }
  console.error(`chutes-rpc prepare: ${missing.join(', ')} not installed in ${root}; running npm ci there first`);
  const env = { ...process.env, [INSTALLING]: '1' };
  for (const key of Object.keys(env)) {
    if (/^npm_config_(global|location|prefix)$/i.test(key)) delete env[key];
  }
  const r = spawnSync(npm, ['ci', '--include=dev', '--no-audit', '--no-fund'], {
    cwd: root,
    env,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  process.exit(r.status ?? 1);
}

if (require('./build-stamp').staleness()) {
  const r = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  process.exit(r.status ?? 1);
}
