'use strict';
// WebAssembly compiled on V8's own threads ahead of its first use: undici's HTTP/1 parser, llhttp
// (dist/llhttp_simd.wasm, written by scripts/bundle-serve.js). Compiled where undici first needs
// it, when the first connection opens, it held the first chat ~12 ms on this thread: ~5 ms for the
// module, ~1.5 ms for the instance, ~6 ms for its large parsing function at its first call.
//
// bin/cached-bundle.js (scripts/sea-entry.js in the single executable) starts the compile at the
// first call beyond initialize, whole (V8_FLAGS has --no-wasm-lazy-compilation). V8 begins it only in
// a turn of the event loop, which the first upstream request gives it before it loads undici's Agent
// (ChutesContext.loadHttp); it is then done by the time the connection opens, and the Agent
// bundle's llhttp (scripts/bundle-serve.js's patch of client-h1.js) takes it from here. When it is
// not done, undici compiles its own, as without this.

/** The compiles by name: each one's module once it is done. */
const compiles = new Map();

/** Starts compiling `bytes` as the WebAssembly module `name`, once per name (WebAssembly.compile copies them at once). */
function precompileWasm(name, bytes) {
  if (compiles.has(name)) return;
  const entry = { module: undefined };
  compiles.set(name, entry);
  WebAssembly.compile(bytes).then(
    (module) => (entry.module = module),
    () => {
      // Left to the first use, which compiles the module again and reports what is wrong with it.
    },
  );
}

/** Module `name` if its compile is done; undefined while it runs, when it failed, or when it was never started. */
function compiledWasm(name) {
  return compiles.get(name)?.module;
}

module.exports = { precompileWasm, compiledWasm };
