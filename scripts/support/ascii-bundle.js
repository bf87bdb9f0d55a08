// The bundles that are read at start-up (the serve and Agent bundles, the single executable's):
// CommonJS for Node 20, minified: less to read, to copy into V8's heap and to deserialize at every
// start (measured on the first chat: ~75 fewer page faults, ~1.5 ms). Local names are shortened, so
// a stack gives the bundle's line and column rather than a function's name; nothing reads a
// function's or a class's own name, and errors carry theirs as strings. ASCII, so that they can be
// read as latin1 (a one-byte string, no UTF-8 decoding): esbuild's charset 'ascii' escapes
// non-ASCII characters everywhere but in regular expression literals and comments, where \uXXXX
// means the same (or nothing): those are escaped after.
//
// Each is written already inside the function Node wraps a CommonJS module in (see WRAPPER): its
// loaders (bin/cached-bundle.js, scripts/sea-entry.js) compile the file's text as it is. Wrapping
// it at load time made a second copy of the whole text for V8 to compile (~1.5 ms a bundle).
'use strict';
const fs = require('node:fs');

/** Node's CommonJS module wrapper (require('node:module').wrapper), around each bundle. */
const WRAPPER = ['(function (exports, require, module, __filename, __dirname) { ', '\n});'];

/** Builds `options.outfile` with esbuild and the options every such bundle has (`options` win); esbuild's result. */
async function buildAsciiBundle(options) {
  const result = await require('esbuild').build({
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    charset: 'ascii',
    minifyWhitespace: true,
    minifyIdentifiers: true,
    minifySyntax: true,
    logLevel: 'warning',
    ...options,
  });
  const text = fs.readFileSync(options.outfile, 'utf8');
  const ascii = text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  fs.writeFileSync(options.outfile, `${WRAPPER[0]}${ascii}${WRAPPER[1]}`);
  return result;
}

module.exports = { buildAsciiBundle, WRAPPER };
