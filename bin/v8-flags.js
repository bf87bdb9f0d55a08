'use strict';
// The V8 flags every chutes-rpc process runs with once it does more than start. Hosts cannot pass
// node flags; V8 reads these at runtime.
//
// When: not at start, where loading node:v8 cost ~1 ms and nothing needs them yet, but before the
// first bundle loaded after the serve bundle (bin/cached-bundle.js): the first call beyond
// initialize, or the preload. V8 hashes its flags into a code cache and rejects the cache under
// other flags (a flag once set after the caches were made had every start compile from source), so
// each cache is made and used on the same side of that moment: the serve bundle's before it (by a
// run that never sets them), every other one after. The build makes the caches through the
// launcher, and the single executable (scripts/sea-entry.js, which gets V8_FLAGS as an asset)
// keeps the same order. Node's own code cache of its modules is checked the same way: a call that
// reaches the upstream loads node:tls and node:dns before them (ChutesContext.loadNetworkModules).
//
// --heap-growing-percent: how far V8 lets the heap grow past what was alive at the last full GC
// before it collects again. Its own factor goes up to 4x: a burst (thousands of streams answered at
// once, most of what they allocate garbage a moment later) then peaked near 550 MB of RSS with
// ~120 MB alive; at 1.25x it stays under 400 MB (bench/memory.bench.js), and steady streaming,
// whose old generation barely grows, pays no measurable CPU for it (bench/cpu-per-delta.bench.js).
//
// --liftoff-only: llhttp, undici's HTTP parser, is WebAssembly, and V8 recompiled its hot functions
// with TurboFan in the background within a second of the first response. For llhttp's one large
// parsing function that cost ~270 ms of CPU and ~10,000 fresh pages (RSS 53 -> ~80 MB for a moment),
// when the first burst of streams needed the second core, for ~20 ns less per SSE chunk afterwards
// (~0.5% of a delta's cost): it would pay back after ~12 million chunks. With Liftoff's code only,
// a cold batch of 256 streams used ~25% less CPU and half the page faults (bench/python-host.bench.js).
//
// --no-wasm-lazy-compilation: a WebAssembly module is compiled whole when it is compiled, not each
// function at its first call: llhttp's compile on V8's threads (bin/cached-bundle.js) then leaves
// nothing to compile on this thread when the first response is parsed.
//
// --no-regexp-optimization: a regular expression compiles to simpler code (as V8 does on its own
// once a process holds much regexp code); V8 reads it at each compile. Node's IPv6 expression, which
// dns.lookup, net.connect, tls.connect and undici each run on the upstream's host name, took ~9 ms to
// compile at its first use and ~2 ms more at its second here: ~11 ms of a first chat to the service,
// ~1.5 ms with this flag (lib/chutes/context.ts keeps it from being compiled before the flags). The
// delta path runs no expression but two anchored ones for think tags: CPU per delta is unchanged
// (bench/cpu-per-delta.bench.js). --no-regexp-tier-up, read as expressions run, not only as they
// compile, saved more but crashed node (spec/process/v8-flags.spec.ts): not used.
const V8_FLAGS = '--heap-growing-percent=25 --liftoff-only --no-wasm-lazy-compilation --no-regexp-optimization';

let applied = false;

/** Sets V8_FLAGS, once. */
function applyV8Flags() {
  if (applied) return;
  applied = true;
  require('node:v8').setFlagsFromString(V8_FLAGS);
}

module.exports = { V8_FLAGS, applyV8Flags };
