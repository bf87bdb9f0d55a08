#!/usr/bin/env node
// `npm run build:binary`: one executable, dist/chutes-rpc, for hosts without Node (Node's single
// executable applications: https://nodejs.org/api/single-executable-applications.html).
//   1. esbuild joins the compiled CLI (dist/, built first by `npm run build` unless it is up to date) and every package it uses into
//      one CommonJS file; the schema validators, which dist/ loads by a computed path, are required
//      by name so that they are inside it too.
//   2. The package files the commands read (fixtures/: the demo cassette and the conformance kit)
//      become SEA assets; lib/util/package-files.ts writes them out on first use.
//   3. node --experimental-sea-config makes the blob (with V8's code cache, so start-up matches
//      `node bundle.js`); postject injects it into a copy of this Node binary.
// The result is reused while its inputs (the bundle, the assets, this Node) are unchanged: the
// stamp dist/chutes-rpc.stamp holds their hash. --force rebuilds anyway.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { staticValidators } = require('./support/static-validators');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const work = path.join(dist, 'sea');
const output = path.join(dist, process.platform === 'win32' ? 'chutes-rpc.exe' : 'chutes-rpc');
const stampFile = `${output}.stamp`;
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const MANIFEST_ASSET = 'package-files.json'; // lib/util/package-files.ts SEA_MANIFEST_ASSET

function listFiles(dir) {
  return fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(`${dir}/${e.name}`) : [`${dir}/${e.name}`]))
    .sort();
}

async function bundle() {
  if (require('./build-stamp').staleness()) {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    execFileSync(npm, ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  }
  // After the build, which starts by removing dist/.
  fs.mkdirSync(work, { recursive: true });
  const esbuild = require('esbuild');
  const validatorDir = path.join(dist, 'generated', 'validators');
  const validators = fs
    .readdirSync(validatorDir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3));
  const entry = path.join(work, 'entry.js');
  fs.writeFileSync(entry, `require(${JSON.stringify(path.join(dist, 'cli.js'))}).main(process.argv.slice(2));\n`);
  await esbuild.build({
    entryPoints: [entry],
    outfile: path.join(work, 'chutes-rpc.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    // yargs is an ES module that finds its own files through import.meta.url, which a CommonJS bundle lacks.
    define: { 'import.meta.url': '__chutesRpcModuleUrl' },
    banner: { js: "const __chutesRpcModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
    plugins: [
      {
        // Node's require() of yargs' ES module returns its 'module.exports' export, the factory; a bundle's returns the namespace.
        name: 'yargs-factory',
        setup(build) {
          build.onResolve({ filter: /^yargs\/yargs$/ }, () => ({ path: 'yargs-factory', namespace: 'chutes-rpc' }));
          build.onLoad({ filter: /^yargs-factory$/, namespace: 'chutes-rpc' }, () => ({
            contents: "module.exports = require('yargs').default;",
            loader: 'js',
            resolveDir: root,
          }));
        },
      },
      staticValidators(validators),
    ],
  });
  return path.join(work, 'chutes-rpc.js');
}

async function main() {
  const force = process.argv.includes('--force');
  const started = Date.now();
  const main = await bundle();
  const files = listFiles('fixtures');
  const hash = crypto.createHash('sha256');
  hash.update(process.version).update(fs.readFileSync(process.execPath).subarray(0, 1 << 20));
  hash.update(fs.readFileSync(main));
  for (const f of files) hash.update(f).update(fs.readFileSync(path.join(root, f)));
  const id = hash.digest('hex').slice(0, 16);
  if (!force && fs.existsSync(output) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8').trim() === id) {
    process.stderr.write(`build-binary: ${path.relative(root, output)} is up to date\n`);
    return;
  }
  const manifest = path.join(work, MANIFEST_ASSET);
  fs.writeFileSync(manifest, JSON.stringify({ id, files }));
  const assets = { [MANIFEST_ASSET]: manifest };
  for (const f of files) assets[f] = path.join(root, f);
  const blob = path.join(work, 'sea-prep.blob');
  const config = path.join(work, 'sea-config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true, useSnapshot: false, assets }, null, 2),
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
