'use strict';
// The single executable's main script (scripts/build-binary.js). It does what bin/chutes-rpc and
// bin/cached-bundle.js do, from SEA assets instead of dist/: `serve` starts from the serve bundle
// with its code cache, every other command from the CLI bundle with its own. Node's own SEA code
// cache (useCodeCache) holds only what compiling the main script makes, and a main script that was
// the whole CLI meant reading and compiling ~3 MB at every start.
const sea = require('node:sea');
let flagsSet = false;
let llhttpStarted = false;
/**
 * bin/v8-flags.js's V8_FLAGS, set as bin/cached-bundle.js does: before every bundle but the serve
 * bundle; then llhttp's compile starts, as there (bin/cached-bundle.js), and as there not for
 * the CLI bundle.
 */
function setV8Flags(name) {
  if (!flagsSet) {
    flagsSet = true;
    require('node:v8').setFlagsFromString(sea.getAsset('v8-flags.txt', 'utf8'));
  }
  if (name === 'cli.bundle' || llhttpStarted) return;
  llhttpStarted = true;
  WebAssembly.compile(sea.getRawAsset('llhttp_simd.wasm')).then(
    (module) => (llhttp = module),
    () => {
      // Left to the first use, which compiles the module again and reports what is wrong with it.
    },
  );
}
/** llhttp's module (bin/cached-bundle.js) once its compile is done. */
let llhttp;
const vm = require('node:vm');
const Module = require('node:module');

/**
 * Asset `<name>.js` run as a CommonJS module, compiled with `<name>.cache` when there is one. Its
 * require is `requireFor`; its __dirname stands for dist/ beside the executable (nothing is read there).
 */
function load(name, requireFor) {
  if (name !== 'serve.bundle') setV8Flags(name);
  // The bundles are ASCII (scripts/support/ascii-bundle.js): latin1 makes a one-byte string, undecoded.
  // Raw assets are the executable's own bytes, not a copy of them (V8 only reads the cache).
  const source = Buffer.from(sea.getRawAsset(`${name}.js`)).latin1Slice();
  let cachedData;
  try {
    cachedData = Buffer.from(sea.getRawAsset(`${name}.cache`));
  } catch {
    // No cache: compiled from source.
  }
  const dirname = require('node:path').join(require('node:path').dirname(process.execPath), 'dist');
  const filename = `${dirname}/${name}.js`;
  // Already the CommonJS module function (scripts/support/ascii-bundle.js).
  const script = new vm.Script(source, { filename, ...(cachedData ? { cachedData } : {}) });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, requireFor, module, filename, dirname);
  return module.exports;
}

let serveDeps;
/** Bundles loaded through bin/cached-bundle.js's loadBundle, by name: each once, as there. */
const bundles = new Map();
const cachedBundle = {
  loadBundle(name) {
    if (!bundles.has(name)) bundles.set(name, load(`${name}.bundle`, serveRequire));
    return bundles.get(name);
  },
  compiledWasm: (name) => (name === 'llhttp_simd' ? llhttp : undefined),
};

/** The bundles' require: Node's modules, the Agent bundle, and serve-deps.js for the rest. */
function serveRequire(id) {
  if (Module.isBuiltin(id)) return require(id);
  if (id === '../bin/cached-bundle.js') return cachedBundle;
  serveDeps ??= load('serve-deps', require);
  const validator = /[\\/]generated[\\/]validators[\\/]([^\\/]+)\.js$/.exec(id);
  const get = validator ? serveDeps.validators[validator[1]] : serveDeps.modules[id];
  if (get) return get();
  throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
}

const argv = process.argv.slice(2);
if (!load('serve.bundle', serveRequire).tryServe(argv)) cachedBundle.loadBundle('cli').main(argv);
