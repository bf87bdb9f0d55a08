#!/usr/bin/env node
// `prepare`: npm runs it after `npm ci`/`npm install` in a clone and before `npm pack`. Builds dist/
// unless it is already built from these very sources (scripts/build-stamp.js), so that `npm pack`
// right after `npm ci` does not build everything a second time.
//
// It also makes `npm install -g git+URL` (and `github:owner/repo`) work, which npm 7 to 11 break
// for any package that builds on install (npm/cli#8440, #4148, #3692). What npm does:
//   1. It empties <global node_modules>/chutes-rpc, clones the repository into a temporary
//      directory (<cache>/_cacache/tmp/git-clone*), and runs `npm install --force` there so that
//      `prepare` can build.
//   2. That inner npm inherits the outer one's `-g`/`--prefix` through the environment
//      (npm_config_global, npm_config_prefix), so it does not install the clone's dependencies:
//      it installs the clone itself globally, as a link <global node_modules>/chutes-rpc -> clone,
//      and runs `prepare` in it, where ajv, typescript and esbuild are missing.
//   3. The outer npm packs the clone and extracts the package into <global node_modules>/chutes-rpc,
//      which is now the link, so everything lands in the clone, which npm then deletes: a dangling
//      link is all that is left.
// So, when the build tools are missing, this script installs them into the clone from
// package-lock.json (`npm ci` with the global settings removed from its environment; that `npm ci`
// runs this script again, which builds), and when it runs in step 2 it replaces the link with a
// real directory holding the packed files, so that step 3 extracts into the global prefix.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const INSTALLING = 'CHUTES_RPC_PREPARE_INSTALLING';
// What the build itself loads: from dependencies (ajv) and devDependencies (typescript, esbuild).
const BUILD_TOOLS = ['ajv', 'typescript', 'esbuild'];

/** The environment of the outer npm without its global-install settings. */
function localEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  for (const key of Object.keys(env)) if (/^npm_config_(global|location|prefix)$/i.test(key)) delete env[key];
  return env;
}

function runNpm(args, env) {
  const r = spawnSync(npm, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'], shell: process.platform === 'win32' });
  if (r.status !== 0) {
    process.stdout.write(r.stdout ?? '');
    process.exit(r.status ?? 1);
  }
  return String(r.stdout);
}

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

/** In step 2 above: the link <global node_modules>/chutes-rpc that points here, else undefined. */
function globalLinkToHere() {
  // pacote sets _PACOTE_NO_PREPARE_ for the npm it runs in a git clone; `npm link` and a deliberate
  // `npm install -g .` in a clone do not set it, and keep their link.
  if (!process.env._PACOTE_NO_PREPARE_ || process.env.npm_config_global !== 'true') return undefined;
  const prefix = process.env.npm_config_prefix || process.env.npm_config_global_prefix;
  if (!prefix) return undefined;
  const name = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).name;
  const link = path.join(prefix, process.platform === 'win32' ? '' : 'lib', 'node_modules', name);
  try {
    if (fs.lstatSync(link).isSymbolicLink() && fs.realpathSync(link) === fs.realpathSync(root)) return link;
  } catch {
    // no such link
  }
  return undefined;
}

/** Replaces the link with a directory holding what `npm pack` would ship. */
function materialize(link) {
  const [{ files }] = JSON.parse(runNpm(['pack', '--dry-run', '--json', '--ignore-scripts'], localEnv()));
  fs.unlinkSync(link);
  for (const { path: file, mode } of files) {
    const to = path.join(link, file);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(path.join(root, file), to);
    fs.chmodSync(to, mode);
  }
}

const missing = missingTools();
if (missing.length > 0) {
  if (process.env[INSTALLING]) {
    console.error(`chutes-rpc prepare: ${missing.join(', ')} still missing after npm ci in ${root}`);
    process.exit(1);
  }
  console.error(`chutes-rpc prepare: ${missing.join(', ')} not installed in ${root}; running npm ci there first`);
  // Its output goes to stderr: npm reads stdout of some commands (npm pack --json).
  const r = spawnSync(npm, ['ci', '--include=dev', '--no-audit', '--no-fund'], {
    cwd: root,
    env: localEnv({ [INSTALLING]: '1' }),
    stdio: ['ignore', process.stderr, 'inherit'],
    shell: process.platform === 'win32',
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
} else if (require('./build-stamp').staleness()) {
  const r = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const link = globalLinkToHere();
if (link) materialize(link);
