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
const { buildAsciiBundle } = require('./support/ascii-bundle');
const { launcherExternal, undiciAgentBundle } = require('./support/launcher-plugins');
const { patchModule } = require('./support/patch-module');
const { staticValidators, validatorNames } = require('./support/static-validators');
const { configuredHome, serveEnv, startStandIn } = require('./support/stand-in');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const outfile = path.join(dist, 'cli.bundle.js');
const cacheFile = path.join(dist, 'cli.bundle.cache');

const yargsDir = path.dirname(require.resolve('yargs/package.json'));

/**
 * yargs' text layout (cliui, and two versions of string-width, each making an Intl.Segmenter when
 * loaded) cost ~50 ms of every command here, and rendering the help text ~40 ms more, for output
 * that only --help and yargs' own failure messages print:
 * - its platform shim takes cliui and string-width from a module that loads them on first use;
 * - a command no longer renders its help text before its handler runs, to keep it for a
 *   showHelp() after it: the CLI never calls one (showHelpOnFail(false), its own fail handler).
 * And a new yargs instance no longer guesses its version, which walked up the directories from the
 * bundle for a package.json (~10 ms): the CLI gives it (lib/cli/commands/index.ts).
 */
const yargsOnDemand = [
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
  patchModule('yargs-factory-version', 'yargs/build/lib/yargs-factory.js', [
    ['        yargs.help();\n        yargs.version();\n', '        yargs.help();\n'],
  ]),
  patchModule('yargs-command', 'yargs/build/lib/command.js', [
    ['yargs.getInternalMethods().getUsageInstance().cacheHelpMessage();', '// (help text not kept: scripts/bundle-cli.js)'],
  ]),
];

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
  await buildAsciiBundle({
    stdin: { contents: "module.exports = require('./cli.js');", resolveDir: dist, loader: 'js' },
    outfile,
    legalComments: 'external',
    // Loaded from node_modules by the few commands that use them: all of undici (--replay, --record,
    // the demo), TEE verification, end-to-end encryption. Chat loads undici's Agent alone, from the
    // Agent bundle the serve path loads (scripts/bundle-serve.js).
    external: ['undici', '@phala/dcap-qvl', '@noble/post-quantum/*'],
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
      ...yargsOnDemand,
      staticValidators(validatorNames()),
      undiciAgentBundle,
      launcherExternal,
    ],
  });
  await writeCodeCache();
}

main().catch((err) => {
  console.error(`bundle-cli: ${err.message}`);
  process.exit(1);
});
