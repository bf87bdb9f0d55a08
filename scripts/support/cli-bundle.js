// The CLI bundle: dist/cli.js (every command) and every package it uses, in one CommonJS file.
// `npm run build` makes dist/cli.bundle.js for `node bin/chutes-rpc` (scripts/bundle-cli.js); the
// single executable makes its own from the same options (scripts/build-binary.js).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { buildAsciiBundle } = require('./ascii-bundle');
const { patchModule } = require('./patch-module');
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

const yargsDir = path.dirname(require.resolve('yargs/package.json'));

/**
 * yargs' text layout (cliui, and two versions of string-width, each making an Intl.Segmenter when
 * loaded) cost ~50 ms of every command here, and rendering the help text ~40 ms more, for output
 * that only --help and yargs' own failure messages print:
 * - its platform shim takes cliui and string-width from a module that loads them on first use;
 * - a command no longer renders its help text before its handler runs, to keep it for a
 *   showHelp() after it: the CLI never calls one (showHelpOnFail(false), its own fail handler).
 */
const yargsLayoutOnDemand = [
  patchModule('yargs-shim', 'yargs/lib/platform-shims/esm.mjs', [
    ["import cliui from 'cliui'\n", "import layout from 'chutes-rpc:yargs-layout'\n"],
    ["import stringWidth from 'string-width';\n", ''],
    ['  cliui,\n', '  cliui: layout.cliui,\n'],
    ['  stringWidth,\n', '  stringWidth: layout.stringWidth,\n'],
  ]),
  {
    name: 'yargs-layout',
    setup(build) {
      build.onResolve({ filter: /^chutes-rpc:yargs-layout$/ }, () => ({ path: 'yargs-layout', namespace: 'chutes-rpc' }));
      build.onLoad({ filter: /^yargs-layout$/, namespace: 'chutes-rpc' }, () => ({
        contents:
          'let cliui, stringWidth;\n' +
          'module.exports = {\n' +
          "  cliui: (options) => (cliui ??= require('cliui').default)(options),\n" +
          "  stringWidth: (text) => (stringWidth ??= require('string-width').default)(text),\n" +
          '};\n',
        loader: 'js',
        resolveDir: yargsDir,
      }));
    },
  },
  patchModule('yargs-command', 'yargs/build/lib/command.js', [
    ['yargs.getInternalMethods().getUsageInstance().cacheHelpMessage();', '// (help text not kept: scripts/support/cli-bundle.js)'],
  ]),
];

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
      ...yargsLayoutOnDemand,
      staticValidators(validatorNames()),
      ...(options.plugins ?? []),
    ],
  });
}

module.exports = { buildCliBundle, validatorNames };
