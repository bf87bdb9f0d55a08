#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli.js: every command but serve, and every package it uses) into
// dist/cli.bundle.js, which bin/chutes-rpc loads with V8's code cache beside it
// (dist/cli.bundle.cache). Loaded from ~250 files, a command spent most of its time resolving,
// reading and compiling them: `chutes-rpc chat` took ~470 ms to its answer here, ~165 ms from the
// bundle. The cache is made by running `chutes-rpc chat` once against a local stand-in for the API:
// what that run compiled needs no compiling again.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { buildCliBundle } = require('./support/cli-bundle');
const { launcherExternal, undiciAgentBundle } = require('./support/launcher-plugins');
const { configuredHome, serveEnv, startStandIn } = require('./support/stand-in');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const outfile = path.join(dist, 'cli.bundle.js');
const cacheFile = path.join(dist, 'cli.bundle.cache');

async function writeCodeCache() {
  fs.rmSync(cacheFile, { force: true });
  const server = await startStandIn();
  const home = configuredHome(os.tmpdir(), `http://127.0.0.1:${server.address().port}/v1`);
  try {
    const env = serveEnv({ CHUTES_RPC_HOME: home, CHUTES_API_KEY: 'cpk_code_cache_warm_up', CHUTES_RPC_WRITE_CODE_CACHE: 'cli' });
    const out = await new Promise((resolve, reject) =>
      execFile(process.execPath, [path.join(root, 'bin', 'chutes-rpc'), 'chat', 'warm up'], { env }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout),
      ),
    );
    if (!out.includes('warm') || !fs.existsSync(cacheFile)) throw new Error(`the CLI's code cache was not made: ${out.slice(0, 300)}`);
  } finally {
    server.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

async function main() {
  await buildCliBundle({
    stdin: { contents: "module.exports = require('./cli.js');", resolveDir: dist, loader: 'js' },
    outfile,
    legalComments: 'external',
    // Loaded from node_modules by the few commands that use them: all of undici (--replay, --record,
    // the demo), TEE verification, end-to-end encryption. Chat loads undici's Agent alone, from the
    // Agent bundle the serve path loads (scripts/bundle-serve.js).
    external: ['undici', '@phala/dcap-qvl', '@noble/post-quantum/*'],
    plugins: [undiciAgentBundle, launcherExternal],
  });
  await writeCodeCache();
}

main().catch((err) => {
  console.error(`bundle-cli: ${err.message}`);
  process.exit(1);
});
