'use strict';
// Loads one of the build's bundles (dist/<name>.bundle.js) as a CommonJS module, compiled with V8's
// code cache beside it (dist/<name>.bundle.cache) when there is one: what the build's warm-up run
// compiled needs no compiling again. V8 refuses a cache made by another node version or for another
// source (script.cachedDataRejected), and then compiles as usual. scripts/bundle-serve.js makes both;
// each bundle's text is already the function Node wraps a module in (scripts/support/ascii-bundle.js).
const fs = require('node:fs');
const path = require('node:path');
const { applyV8Flags } = require('./v8-flags.js');

const DIST = path.join(__dirname, '..', 'dist');
// The CommonJS loader's Module (what node:module exports), without loading node:module, which also
// loads the ES module loader (~0.8 ms of every start).
const Module = module.constructor;

/**
 * One buffer that every file read here goes through, dropped once no bundle was loaded for a
 * while. readFileSync would allocate a new buffer for each file, in memory the process has never
 * touched, and a first touch costs: a fresh buffer made reading the serve-calls bundle and its
 * cache 2.5x slower than this one, which only the first read touches.
 */
let pool;
let dropPool;
const POOL_BYTES = 512 * 1024;
const POOL_KEPT_MS = 5_000;

/**
 * The bundle a process starts from: compiled before the V8 flags are set, every other bundle after
 * them (bin/v8-flags.js says why). A warm-up run that writes its cache never sets them: the cache,
 * written at exit, then holds all the run compiled in it, the first chat's calls included.
 */
const START_BUNDLE = 'serve';
/** The bundle of every command but serve (scripts/bundle-cli.js). */
const CLI_BUNDLE = 'cli';
/** The bundles whose cache this run writes at exit (a build's warm-up run names them). */
const CACHES_WRITTEN = (process.env.CHUTES_RPC_WRITE_CODE_CACHE ?? '').split(',');

/** The file's bytes, in the pool: valid until the next read. */
function readPooled(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (!pool || pool.length < size) pool = Buffer.allocUnsafeSlow(Math.max(size, POOL_BYTES));
    let read = 0;
    while (read < size) {
      const n = fs.readSync(fd, pool, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return pool.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Each bundle's exports, by name: a bundle is loaded once per process, however many bundles require
 * it (the serve bundle's preload and the serve-calls bundle both require the Agent bundle).
 */
const loaded = new Map();

/** dist/<name>.bundle.js's exports; undefined when the build made no such bundle. */
function loadBundle(name) {
  if (!loaded.has(name)) loaded.set(name, compileAndRun(name));
  return loaded.get(name);
}

function compileAndRun(name) {
  if (name !== START_BUNDLE) underV8Flags(name);
  const file = path.join(DIST, `${name}.bundle.js`);
  let source;
  try {
    // latin1: the bundles are ASCII (esbuild escapes the rest), and this skips UTF-8 decoding.
    source = readPooled(file).latin1Slice();
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
  const vm = require('node:vm');
  const cacheFile = path.join(DIST, `${name}.bundle.cache`);
  // At exit, the cache holds what the run compiled.
  const writeCache = CACHES_WRITTEN.includes(name);
  let cachedData;
  if (!writeCache) {
    try {
      cachedData = readPooled(cacheFile);
    } catch {
      // No cache: compiled from source.
    }
  }
  // V8 reads the cache while it compiles, and keeps none of it.
  const script = new vm.Script(source, { filename: file, ...(cachedData ? { cachedData } : {}) });
  clearTimeout(dropPool);
  dropPool = setTimeout(() => (pool = undefined), POOL_KEPT_MS).unref();
  if (writeCache) process.once('exit', () => fs.writeFileSync(cacheFile, script.createCachedData()));
  const module = { exports: {} };
  script.runInThisContext()(module.exports, Module.createRequire(file), module, file, DIST);
  return module.exports;
}

/**
 * Sets the V8 flags, unless this run writes the start bundle's cache; then starts compiling llhttp,
 * which the call that got here will most likely need.
 * Not for the CLI bundle: most commands never connect, and the exit of one that does not waited
 * for the compile (~12 ms); a command that connects starts it when it loads the Agent bundle.
 */
function underV8Flags(name) {
  if (!CACHES_WRITTEN.includes(START_BUNDLE)) applyV8Flags();
  if (name === CLI_BUNDLE || wasmCompiles.has('llhttp_simd')) return;
  let llhttp;
  try {
    llhttp = readPooled(path.join(DIST, 'llhttp_simd.wasm'));
  } catch {
    return; // A build without the Agent bundle: undici compiles its own.
  }
  precompileWasm('llhttp_simd', llhttp);
}

// WebAssembly compiled on V8's own threads ahead of its first use: undici's HTTP/1 parser, llhttp
// (dist/llhttp_simd.wasm, written by scripts/bundle-serve.js). Compiled where undici first needs
// it, when the first connection opens, it held the first chat ~12 ms on this thread: ~5 ms for the
// module, ~1.5 ms for the instance, ~6 ms for its large parsing function at its first call. The
// compile starts at the first call beyond initialize, whole (V8_FLAGS has
// --no-wasm-lazy-compilation), and the Agent bundle's llhttp (scripts/bundle-serve.js's patch of
// client-h1.js) takes it from here (compiledWasm) when the first connection opens. Here rather
// than in a file of its own: requiring one at that moment cost the first chat ~0.4 ms.
//
// V8 hands the module back in a task of the event loop, and a first chat sent with initialize
// reaches its connection without giving the loop a turn: the compile is done by then, but its
// promise has not been resolved. Compiling the same bytes again then finds it in V8's cache of
// compiled modules (~0.1 ms here); undici's own fallback read the file again and loaded node:sea
// to do the same (~2.5 ms).

/** The compiles by name: each one's module once it is known, its bytes until then. */
const wasmCompiles = new Map();

/** Starts compiling `bytes` as the WebAssembly module `name`, once per name; `bytes` may be reused once this returns. */
function precompileWasm(name, bytes) {
  if (wasmCompiles.has(name)) return;
  const entry = { module: undefined, bytes: Buffer.from(bytes) };
  wasmCompiles.set(name, entry);
  WebAssembly.compile(entry.bytes).then(
    (module) => {
      entry.module ??= module;
      entry.bytes = undefined;
    },
    () => {
      // Left to the first use, which compiles the module again and reports what is wrong with it.
      entry.bytes = undefined;
    },
  );
}

/**
 * The WebAssembly module `name` compiled ahead of its use, waited for if it was not handed back
 * yet. Undefined when its compile was never started or failed (the caller compiles its own and
 * reports why).
 */
function compiledWasm(name) {
  const entry = wasmCompiles.get(name);
  if (!entry) return undefined;
  if (!entry.module && entry.bytes) {
    try {
      entry.module = new WebAssembly.Module(entry.bytes);
    } catch {
      // As when the compile fails.
    }
    entry.bytes = undefined;
  }
  return entry.module;
}

module.exports = { loadBundle, compiledWasm };
