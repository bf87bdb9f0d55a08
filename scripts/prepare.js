#!/usr/bin/env node
// `prepare`: npm runs it after `npm ci`/`npm install` in a clone and before `npm pack`. Builds dist/
// unless it is already built from these very sources (scripts/build-stamp.js), so that `npm pack`
// right after `npm ci` does not build everything a second time.
//
// It also makes `npm install -g git+URL` (and `github:owner/repo`) work, which npm (7 and later;
// tested with 11.19) breaks for a package that builds on install (npm/cli#8440, #4148, #3692):
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
// Two things put that right. When prepare runs in such a clone (pacote sets _PACOTE_NO_PREPARE_ for
// the npm it runs there) and the build tools are missing, this script installs what the build needs
// into the clone (the dependencies and the few build tools below, at their package-lock.json
// versions, with the global settings removed from npm's environment) and builds. And when it runs
// in step 2, it replaces the link with a real directory holding the packed files, so that step 3
// extracts into the global prefix. (package.json's bundleDependencies makes npm finish step 3 for
// this package before it unpacks any dependency; without it, npm unpacks them at the same time,
// through the link or into the directory the inner npm replaces, and they are lost.)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const shell = process.platform === 'win32';
// What the build loads (scripts/build-schemas.js, tsc -p tsconfig.build.json, scripts/bundle-serve.js)
// besides the dependencies. The install test (spec/process/install.spec.ts) fails if one is missing.
const BUILD_DEV_DEPENDENCIES = [
  'typescript',
  'esbuild',
  'json-schema-to-typescript',
  '@types/node',
  '@types/yargs',
  '@types/proper-lockfile',
];
const pkgFile = path.join(root, 'package.json');
const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));

/** The environment of the outer npm without its global-install settings. */
function localEnv() {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (/^npm_config_(global|location|prefix)$/i.test(key)) delete env[key];
  return env;
}

/** Runs npm in the package directory; its output goes to stderr (npm reads some commands' stdout). */
function runNpm(args, { capture = false } = {}) {
  const r = spawnSync(npm, args, { cwd: root, env: localEnv(), stdio: ['ignore', capture ? 'pipe' : process.stderr, 'inherit'], shell });
  if (r.status !== 0) {
    console.error(`chutes-rpc prepare: npm ${args.join(' ')} failed in ${root}`);
    process.exit(r.status ?? 1);
  }
  return capture ? String(r.stdout) : '';
}

function missingBuildTools() {
  // Where require() looks (not require.resolve: some packages do not export their package.json).
  const dirs = [];
  for (let d = root; dirs.at(-1) !== path.join(d, 'node_modules'); d = path.dirname(d)) dirs.push(path.join(d, 'node_modules'));
  return [...Object.keys(pkg.dependencies), ...BUILD_DEV_DEPENDENCIES].filter(
    (name) => !dirs.some((d) => fs.existsSync(path.join(d, name, 'package.json'))),
  );
}

/** Installs the dependencies and the build tools (only those) at their package-lock.json versions. */
function installBuildTools() {
  const lockFile = path.join(root, 'package-lock.json');
  const [pkgText, lockText] = [fs.readFileSync(pkgFile), fs.readFileSync(lockFile)];
  const devDependencies = Object.fromEntries(Object.entries(pkg.devDependencies).filter(([name]) => BUILD_DEV_DEPENDENCIES.includes(name)));
  fs.writeFileSync(pkgFile, JSON.stringify({ ...pkg, devDependencies }, null, 2));
  try {
    runNpm(['install', '--include=dev', '--ignore-scripts', '--no-audit', '--no-fund']);
  } finally {
    fs.writeFileSync(pkgFile, pkgText);
    fs.writeFileSync(lockFile, lockText);
  }
}

/** In step 2 above: the link <global node_modules>/chutes-rpc that points here, else undefined. */
function globalLinkToHere() {
  if (process.env.npm_config_global !== 'true') return undefined;
  const prefix = process.env.npm_config_prefix || process.env.npm_config_global_prefix;
  if (!prefix) return undefined;
  const link = path.join(prefix, shell ? '' : 'lib', 'node_modules', pkg.name);
  try {
    if (fs.lstatSync(link).isSymbolicLink() && fs.realpathSync(link) === fs.realpathSync(root)) return link;
  } catch {
    // no such link
  }
  return undefined;
}

/** Replaces the link with a directory holding what `npm pack` would ship. */
function materialize(link) {
  const [{ files }] = JSON.parse(runNpm(['pack', '--dry-run', '--json', '--ignore-scripts'], { capture: true }));
  fs.unlinkSync(link);
  for (const { path: file, mode } of files) {
    const to = path.join(link, file);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(path.join(root, file), to);
    fs.chmodSync(to, mode);
  }
}

// Only in a clone npm made for a git install: `npm link`, or `npm install -g .` in a clone, keep
// their link, and a clone without its dependencies is told to run npm ci rather than changed.
const inGitInstall = Boolean(process.env._PACOTE_NO_PREPARE_);
let missing = missingBuildTools();
if (missing.length > 0 && inGitInstall) {
  console.error(`chutes-rpc prepare: installing the build tools into ${root} (npm/cli#8440)`);
  installBuildTools();
  missing = missingBuildTools();
}
if (missing.length > 0) {
  console.error(`chutes-rpc prepare: the build needs ${missing.join(', ')}: run npm ci in ${root} first`);
  process.exit(1);
}
if (require('./build-stamp').staleness()) runNpm(['run', 'build']);
const link = inGitInstall && globalLinkToHere();
if (link) materialize(link);
