#!/usr/bin/env node
// `npm run build:binary`: one executable, dist/chutes-rpc, for hosts without Node (Node's single
// executable applications: https://nodejs.org/api/single-executable-applications.html). Its main
// script is scripts/sea-entry.js, and what it runs are SEA assets:
//   - serve.bundle.js, serve-calls.bundle.js, serve-pacing.bundle.js, serve-more.bundle.js,
//     undici-agent.bundle.js and cli.bundle.js, with their code caches, and undici's llhttp
//     WebAssembly files: the very files `npm run build` made in dist/ for `node bin/chutes-rpc`
//     (scripts/bundle-serve.js, scripts/bundle-cli.js), so every command starts as it does with node;
//   - serve-deps.js: what those bundles require from outside themselves (packages they load on
//     demand, the schema validators they load by path), bundled;
//   - the package files the commands read (fixtures/: the demo cassette and the conformance kit),
//     which lib/util/package-files.ts writes out on first use.
// node --experimental-sea-config makes the blob; postject injects it into a copy of this Node binary.
// The result is reused while its inputs (the bundles, the assets, this Node) are unchanged: the
// stamp dist/chutes-rpc.stamp holds their hash. --force rebuilds anyway.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { buildAsciiBundle } = require('./support/ascii-bundle');
const { validatorNames } = require('./support/static-validators');
const { V8_FLAGS } = require('../bin/v8-flags');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const work = path.join(dist, 'sea');
const output = path.join(dist, process.platform === 'win32' ? 'chutes-rpc.exe' : 'chutes-rpc');
const stampFile = `${output}.stamp`;
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const MANIFEST_ASSET = 'package-files.json'; // lib/util/package-files.ts SEA_MANIFEST_ASSET
/** What `npm run build` made that the executable holds as it is (scripts/sea-entry.js loads them). */
const BUILT_FILES = [
  'serve.bundle.js',
  'serve.bundle.cache',
  'serve-calls.bundle.js',
  'serve-calls.bundle.cache',
  'serve-pacing.bundle.js',
  'serve-pacing.bundle.cache',
  'serve-more.bundle.js',
  'serve-more.bundle.cache',
  'undici-agent.bundle.js',
  'undici-agent.bundle.cache',
  'cli.bundle.js',
  'cli.bundle.cache',
  'llhttp_simd.wasm',
  'llhttp.wasm',
];

function listFiles(dir) {
  return fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(`${dir}/${e.name}`) : [`${dir}/${e.name}`]))
    .sort();
}

/** `npm run build`, when dist/ is not what the sources make. */
function buildIfStale() {
  if (!require('./build-stamp').staleness()) return;
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
}

/**
 * dist/sea/serve-deps.js: every package the bundles require (by name, outside Node's own), and
 * every schema validator (which they require by path), each made on first use.
 */
async function bundleServeDeps(validators) {
  const bundlesText = ['serve.bundle.js', 'serve-calls.bundle.js', 'serve-pacing.bundle.js', 'serve-more.bundle.js', 'cli.bundle.js']
    .map((f) => fs.readFileSync(path.join(dist, f), 'latin1'))
    .join('\n');
  const { isBuiltin } = require('node:module');
  const names = [...new Set([...bundlesText.matchAll(/\brequire\((["'])([^"'./][^"']*)\1\)/g)].map((m) => m[2]))]
    .filter((n) => !isBuiltin(n))
    .sort();
  const table = (entries) =>
    `{${entries.map(([key, file]) => `${JSON.stringify(key)}: () => require(${JSON.stringify(file)})`).join(',')}}`;
  const contents =
    `exports.modules = ${table(names.map((n) => [n, n]))};\n` +
    `exports.validators = ${table(validators.map((v) => [v, path.join(dist, 'generated', 'validators', `${v}.js`)]))};\n`;
  const outfile = path.join(work, 'serve-deps.js');
  await buildAsciiBundle({ stdin: { contents, resolveDir: root, loader: 'js' }, outfile });
  return outfile;
}

async function main() {
  const force = process.argv.includes('--force');
  const started = Date.now();
  buildIfStale();
  // After the build, which starts by removing dist/.
  fs.mkdirSync(work, { recursive: true });
  const serveDeps = await bundleServeDeps(validatorNames());
  const entry = path.join(__dirname, 'sea-entry.js');
  const files = listFiles('fixtures');
  const hash = crypto.createHash('sha256');
  hash
    .update(process.version)
    .update(V8_FLAGS)
    .update(fs.readFileSync(process.execPath).subarray(0, 1 << 20));
  for (const f of [entry, serveDeps, ...BUILT_FILES.filter((f) => !f.endsWith('.cache')).map((f) => path.join(dist, f))]) {
    hash.update(fs.readFileSync(f));
  }
  for (const f of files) hash.update(f).update(fs.readFileSync(path.join(root, f)));
  const id = hash.digest('hex').slice(0, 16);
  if (!force && fs.existsSync(output) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8').trim() === id) {
    process.stderr.write(`build-binary: ${path.relative(root, output)} is up to date\n`);
    return;
  }
  const manifest = path.join(work, MANIFEST_ASSET);
  fs.writeFileSync(manifest, JSON.stringify({ id, files }));
  const v8Flags = path.join(work, 'v8-flags.txt');
  fs.writeFileSync(v8Flags, V8_FLAGS);
  // The names scripts/sea-entry.js reads.
  const assets = {
    [MANIFEST_ASSET]: manifest,
    'serve-deps.js': serveDeps,
    'v8-flags.txt': v8Flags,
  };
  for (const f of BUILT_FILES) assets[f] = path.join(dist, f);
  for (const f of files) assets[f] = path.join(root, f);
  const blob = path.join(work, 'sea-prep.blob');
  const config = path.join(work, 'sea-config.json');
  fs.writeFileSync(
    config,
    JSON.stringify(
      {
        main: entry,
        output: blob,
        disableExperimentalSEAWarning: true,
        useCodeCache: true,
        useSnapshot: false,
        assets,
      },
      null,
      2,
    ),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });

  const partial = `${output}.partial`;
  fs.copyFileSync(process.execPath, partial);
  fs.chmodSync(partial, 0o755);
  if (process.platform === 'darwin') execFileSync('codesign', ['--remove-signature', partial]);
  const { inject } = require('postject');
  await inject(partial, 'NODE_SEA_BLOB', fs.readFileSync(blob), {
    sentinelFuse: SEA_FUSE,
    ...(process.platform === 'darwin' ? { machoSegmentName: 'NODE_SEA' } : {}),
  });
  if (process.platform === 'darwin') execFileSync('codesign', ['--sign', '-', partial]);
  fs.renameSync(partial, output);
  fs.writeFileSync(stampFile, `${id}\n`);
  const mb = (fs.statSync(output).size / 1e6).toFixed(1);
  process.stderr.write(`build-binary: ${path.relative(root, output)} (${mb} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

main().catch((err) => {
  process.stderr.write(`build-binary: ${err.message}\n`);
  process.exit(1);
});
