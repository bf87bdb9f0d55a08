#!/usr/bin/env node
// Bundles the compiled serve path (dist/cli/serve-entry.js and what it reaches) into one file,
// dist/serve.bundle.js, which bin/chutes-rpc loads first. Hosts spawn `chutes-rpc serve` on every
// start, and one file instead of ~50 (vscode-jsonrpc's included) takes about a fifth off the time to
// the first reply on this machine (bench/startup.bench.js). tsc still compiles everything; this
// only joins its output. Packages the serve path loads on demand stay external.
'use strict';
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
esbuild.buildSync({
  entryPoints: [path.join(root, 'dist', 'cli', 'serve-entry.js')],
  outfile: path.join(root, 'dist', 'serve.bundle.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: false,
  logLevel: 'warning',
  external: [
    'undici',
    'ajv',
    'ajv/*',
    'ajv-formats',
    'ajv-formats/*',
    'json5',
    'proper-lockfile',
    'eventsource-parser',
    'yargs',
    'yargs/*',
    '@phala/dcap-qvl',
    // ESM only: Node loads it through require(esm) on the first E2EE call.
    '@noble/post-quantum/*',
  ],
});
