'use strict';
// WebAssembly compiled on V8's own threads ahead of its first use: undici's HTTP/1 parser, llhttp
// (dist/llhttp_simd.wasm, written by scripts/bundle-serve.js). Compiled where undici first needs
// it, when the first connection opens, it held the first chat ~12 ms on this thread: ~5 ms for the
// module, ~1.5 ms for the instance, ~6 ms for its large parsing function at its first call.
//
// bin/cached-bundle.js (scripts/sea-entry.js in the single executable) starts the compile at the
// first call beyond initialize, whole (V8_FLAGS has --no-wasm-lazy-compilation), and the Agent
// bundle's llhttp (scripts/bundle-serve.js's patch of client-h1.js) takes it from here when the
// first connection opens.
//
// V8 hands the module back in a task of the event loop, and a first chat sent with initialize
// reaches its connection without giving the loop a turn: the compile is done by then, but its
// promise has not been resolved. Compiling the same bytes again then finds it in V8's cache of
// compiled modules (~0.1 ms here); undici's own fallback read the file again and loaded node:sea
// to do the same (~2.5 ms).

/** The compiles by name: each one's module once it is known, its bytes until then. */
const compiles = new Map();

/** Starts compiling `bytes` as the WebAssembly module `name`, once per name; `bytes` may be reused once this returns. */
function precompileWasm(name, bytes) {
  if (compiles.has(name)) return;
  const entry = { module: undefined, bytes: Buffer.from(bytes) };
  compiles.set(name, entry);
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
 * Module `name`, from the compile started for it: waited for if it was not handed back yet.
 * Undefined when it was never started or it failed (the caller compiles its own and reports why).
 */
function compiledWasm(name) {
  const entry = compiles.get(name);
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

module.exports = { precompileWasm, compiledWasm };
