'use strict';
// Loads one of the build's bundles (dist/<name>.bundle.js) as a CommonJS module, compiled with V8's
// code cache beside it (dist/<name>.bundle.cache) when there is one: what the build's warm-up run
// compiled needs no compiling again. V8 refuses a cache made by another node version or for another
// source (script.cachedDataRejected), and then compiles as usual. scripts/bundle-serve.js makes both.
const fs = require('node:fs');
const path = require('node:path');

const DIST = path.join(__dirname, '..', 'dist');
// The CommonJS loader's Module (what node:module exports), without loading node:module, which also
// loads the ES module loader (~0.8 ms of every start).
const Module = module.constructor;

/** dist/<name>.bundle.js's exports; undefined when the build made no such bundle. */
function loadBundle(name) {
  const file = path.join(DIST, `${name}.bundle.js`);
  let source;
  try {
    // latin1: the bundles are ASCII (esbuild escapes the rest), and this skips UTF-8 decoding.
    source = fs.readFileSync(file, 'latin1');
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
  const vm = require('node:vm');
  const cacheFile = path.join(DIST, `${name}.bundle.cache`);
  // The build's warm-up runs name the bundles whose cache they write: at exit, it holds what the run compiled.
  const writeCache = (process.env.CHUTES_RPC_WRITE_CODE_CACHE ?? '').split(',').includes(name);
  let cachedData;
  if (!writeCache) {
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      // No cache: compiled from source.
    }
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  if (writeCache) process.once('exit', () => fs.writeFileSync(cacheFile, script.createCachedData()));
  const module = { exports: {} };
  script.runInThisContext()(module.exports, Module.createRequire(file), module, file, DIST);
  return module.exports;
}

module.exports = { loadBundle };
