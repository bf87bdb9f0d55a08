'use strict';
// The V8 flags every chutes-rpc process runs with. The launcher sets them before it compiles any
// bundle, and must: V8 hashes its flags into a code cache and rejects the cache under other flags,
// so a flag set later (as serve once did) made every start compile the whole bundle from source.
// The build makes the caches through the launcher, and the single executable sets the same flags
// (scripts/build-binary.js gives it V8_FLAGS as an asset), so each cache meets the flags it was
// made under. Hosts cannot pass node flags; V8 reads these at runtime.
//
// --heap-growing-percent: how far V8 lets the heap grow past what was alive at the last full GC
// before it collects again. Its own factor goes up to 4x: a burst (thousands of streams answered at
// once, most of what they allocate garbage a moment later) then peaked near 550 MB of RSS with
// ~120 MB alive; at 1.25x it stays under 400 MB (bench/memory.bench.js), and steady streaming,
// whose old generation barely grows, pays no measurable CPU for it (bench/cpu-per-delta.bench.js).
const V8_FLAGS = '--heap-growing-percent=25';

function applyV8Flags(flags = V8_FLAGS) {
  require('node:v8').setFlagsFromString(flags);
}

module.exports = { V8_FLAGS, applyV8Flags };
