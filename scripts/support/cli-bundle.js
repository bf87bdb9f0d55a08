// The CLI bundle: dist/cli.js (every command) and every package it uses, in one CommonJS file.
// `npm run build` makes dist/cli.bundle.js for `node bin/chutes-rpc` (scripts/bundle-cli.js); the
// single executable makes its own from the same options (scripts/build-binary.js).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { buildAsciiBundle } = require('./ascii-bundle');
const { staticValidators } = require('./static-validators');

const root = path.resolve(__dirname, '..', '..');
const dist = path.join(root, 'dist');

/** The schema validators the build made (dist/generated/validators/<name>.js), by name. */
function validatorNames() {
  return fs
    .readdirSync(path.join(dist, 'generated', 'validators'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3));
}

/**
 * Builds the CLI bundle with esbuild's `options` (its entry and outfile), every validator inside
 * it; esbuild's result.
 */
function buildCliBundle(options) {
  return buildAsciiBundle({
    ...options,
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
      staticValidators(validatorNames()),
      ...(options.plugins ?? []),
    ],
  });
}

module.exports = { buildCliBundle, validatorNames };
