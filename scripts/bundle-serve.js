#!/usr/bin/env node
// Bundles the compiled serve path (dist/cli/serve-entry.js and what it reaches) into four files,
// which bin/chutes-rpc loads. Hosts spawn `chutes-rpc serve` on every start, and one file instead of ~50
// (vscode-jsonrpc's included) takes about a fifth off the time to the first reply
// (bench/startup.bench.js). tsc still compiles everything; this only joins its output.
//   - dist/serve.bundle.js: what start-up and initialize run (probed on the compiled serve path,
//     with and without a config file), about a third of the serve path;
//   - dist/serve-calls.bundle.js: the rest (the provider library, the params validators), loaded
//     by the first call that requires any of it, and by the preload;
//   - dist/serve-pacing.bundle.js: client-side pacing and file locks (PACING_PART), loaded by the
//     first paced chat or lock, and by the preload;
//   - dist/serve-more.bundle.js: TEE verification, sign-in, E2EE, cassettes, account calls and
//     JSON5 (MORE_PART), loaded by the first call that uses them, and by the preload.
//   No module is in two (scripts/support/split-bundle.js).
//
// What makes the first start and the first chat cheap besides:
//   - dist/undici-agent.bundle.js holds undici's Agent alone (what the upstream path uses), which
//     the serve bundles load in place of dist/chutes/http/undici-agent.js: the first chat loads one
//     file, not all of undici (~110 modules), and not its HTTP/2 client (node:http2, ~7 ms) nor its
//     FormData bodies, which the upstream path never uses (agentPathOnly).
//   - The validators of the config and of every method's params, and json5, are inside the serve
//     bundles; the other validators (results, stored files) stay files.
//   - vscode-jsonrpc requires node:crypto (~3 ms) and node:os for pipe names and UUIDs the server
//     never asks for at start-up: in the bundle, they are required on first use.
//   - Each bundle has V8's code cache beside it (dist/<name>.bundle.cache), made by starting the
//     server and answering initialize and then one chat.stream against a local stand-in for the
//     API (twice: the serve bundle's in a run without the V8 flags, the serve-calls, serve-pacing
//     and Agent bundles' in one with them; serve-more's, which no such run reaches, is what
//     compiling it makes): the functions they ran need no compiling again (bin/cached-bundle.js
//     reads them).
// Packages the serve path loads on demand elsewhere (--replay, --record: all of undici) stay external.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { buildAsciiBundle } = require('./support/ascii-bundle');
const { staticValidators } = require('./support/static-validators');
const { splitBuild, keyOf } = require('./support/split-bundle');
const { configuredHome, serveEnv, startStandIn } = require('./support/stand-in');
const { CACHED_BUNDLE, launcherExternal, undiciAgentBundle } = require('./support/launcher-plugins');
const { patchModule } = require('./support/patch-module');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const serveEntry = path.join(dist, 'cli', 'serve-entry.js');
const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} };
const CHAT = { jsonrpc: '2.0', id: 2, method: 'chat.stream', params: { messages: [{ role: 'user', content: 'warm up' }] } };
const external = [
  'undici',
  'yargs',
  'yargs/*',
  '@phala/dcap-qvl',
  // ESM only: Node loads it through require(esm) on the first E2EE call.
  '@noble/post-quantum/*',
];

/**
 * The validators in the serve bundles (lib/generated/validator-keys.ts's file names): the config's
 * and every method's params. A call's params are checked before anything else it does, so none may
 * need a file read of its own then: a burst of streams right after initialize can hold every
 * descriptor before the preload (which waits for an idle moment) has run. The first call of such a
 * burst loads serve-calls (every params validator at once) before any stream holds one.
 */
const BUNDLED_VALIDATORS = [
  'config',
  ...new Set(
    Object.entries(require('../dist/generated/validator-keys').validatorFiles)
      .filter(([key]) => key.startsWith('params:'))
      .map(([, file]) => file),
  ),
];
/**
 * The modules only client-side pacing and file locks use: the pacer and its state file,
 * proper-lockfile with what it requires, and SHA-256 (@noble/hashes, for the credential's
 * fingerprint). They are dist/serve-pacing.bundle.js, which a chat loads when pacing is on (the
 * default) and the preload loads always: a chat with pacing off neither reads them into the heap
 * nor deserializes their code cache (~76 KB of serve-calls' cache before; ~43 fewer page faults).
 */
const PACING_PART =
  /^dist\/chutes\/pacing\/(pacer|pacing-file|send-window|server-limits)\.js$|(^|\/)node_modules\/(proper-lockfile|retry|signal-exit|@noble\/hashes)\//;

/**
 * What only TEE verification, sign-in, E2EE, cassettes, account calls and a JSON5 config use,
 * but for the three modules every chat (or the credential lookup) runs at its load: they are
 * dist/serve-more.bundle.js, which the first such call and the preload load. Each of those calls
 * reads a file or opens a connection of its own anyway, so none is made to need a descriptor it
 * did not need before; a chat reads ~107 KB less into the heap (~31 fewer page faults).
 */
const MORE_PART = /^dist\/chutes\/(tee|oauth|e2ee|cassette|account)\/|(^|\/)node_modules\/json5\//;
const MORE_PART_BUT = new Set(['dist/chutes/tee/chat-gate.js', 'dist/chutes/oauth/settings.js', 'dist/chutes/e2ee/chute-target.js']);

/**
 * undici's llhttp WebAssembly (SIMD, and the fallback without), which undici keeps as base64 in a JS
 * module: written beside the Agent bundle as binary files and read from there (SEA assets of the
 * same names in the single executable). Kept in the bundle they were 40% of its source, read and
 * then decoded (~2.5 ms) at every first chat.
 */
const llhttpFiles = {
  name: 'llhttp-files',
  setup(build) {
    build.onLoad({ filter: /[\\/]undici[\\/]lib[\\/]llhttp[\\/]llhttp(_simd)?-wasm\.js$/ }, (args) => {
      const file = path.basename(args.path).replace(/-wasm\.js$/, '.wasm');
      fs.writeFileSync(path.join(dist, file), require(args.path));
      const name = JSON.stringify(file);
      return {
        contents:
          `const sea = require('node:sea');\n` +
          `module.exports = sea.isSea() ? sea.getRawAsset(${name}) : require('node:fs').readFileSync(require('node:path').join(__dirname, ${name}));\n`,
        loader: 'js',
      };
    });
  },
};

/**
 * undici's assertions (plain assert(value) calls, in nearly every module the Agent uses) and
 * signal-exit's one assert.equal hold in every run that has no bug; node:assert and its modules
 * (~1 ms) are loaded to throw the AssertionError when one does not.
 */
const lazyAssert = {
  name: 'lazy-assert',
  setup(build) {
    build.onResolve({ filter: /^(node:)?assert$/ }, (args) =>
      /[\\/]node_modules[\\/](undici|signal-exit)[\\/]/.test(args.importer) ? { path: 'lazy-assert', namespace: 'lazy-assert' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-assert' }, () => ({
      contents:
        "module.exports = function assert(value, message) { if (!value) require('node:assert')(value, message); };\n" +
        "module.exports.equal = function equal(actual, expected, message) { if (actual != expected) require('node:assert').equal(actual, expected, message); };",
      loader: 'js',
    }));
  },
};

/**
 * proper-lockfile is in the serve-pacing bundle, with its code cache: loaded from node_modules with
 * its dependencies it was ~15 ms of a first chat under pacing (the default). Its graceful-fs is
 * node:fs there: graceful-fs retries opening files when descriptors run out and patches fs.close
 * for every module, and a lock takes no descriptor (a directory made and removed, stat, utimes).
 */
const lockfileOnNodeFs = {
  name: 'lockfile-on-node-fs',
  setup(build) {
    build.onResolve({ filter: /^graceful-fs$/ }, (args) =>
      /[\\/]node_modules[\\/]proper-lockfile[\\/]/.test(args.importer) ? { path: 'graceful-fs', namespace: 'node-fs' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'node-fs' }, () => ({ contents: "module.exports = require('node:fs');", loader: 'js' }));
  },
};

/**
 * Two modules the Agent bundle's undici requires only on paths the upstream path never takes:
 * client-h2.js, for a connection that negotiated HTTP/2 (the Agent is made with allowH2 false, so
 * it offers HTTP/1.1 alone), and web/fetch/body.js (with FormData, webidl and their modules), for a
 * FormData request body (ours are strings). Left out, the bundle is 40% smaller (131 -> 78 KB), and
 * a first chat, which copies the bundle's text into V8's heap, takes ~34 fewer page faults (~0.5 ms).
 * Were either reached, the request fails saying so; `--replay` and `--record` load all of undici.
 */
const agentPathOnly = {
  name: 'agent-path-only',
  setup(build) {
    const left = (what) => `new Error(${JSON.stringify(`${what} is not in chutes-rpc's Agent bundle (scripts/bundle-serve.js)`)})`;
    build.onLoad({ filter: /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/ }, () => ({
      contents: `module.exports = function connectH2() { throw ${left("undici's HTTP/2 client")}; };`,
      loader: 'js',
    }));
    // Its caller (client-h1.js, writing a request) does not catch: the request fails through its body.
    build.onLoad({ filter: /[\\/]undici[\\/]lib[\\/]web[\\/]fetch[\\/]body\.js$/ }, () => ({
      contents:
        `exports.extractBody = () => [{ stream: new (require('node:stream').Readable)({ read() { this.destroy(${left('A FormData request body')}); } }), ` +
        `source: null, length: null }, 'multipart/form-data'];`,
      loader: 'js',
    }));
  },
};

/**
 * Patches to undici's modules in the Agent bundle, each to load less for the first chat; undici
 * behaves as before.
 * - client.js, core/util.js: node:http (~2.5 ms with its modules) is loaded when a Client is made
 *   without maxHeaderSize (ours give one: lib/chutes/http/upstream-dispatcher.ts), and when a
 *   request body being destroyed may be an IncomingMessage (which only exists once node:http is).
 * - client-h1.js: llhttp's module is the one compiled on V8's threads since the first call beyond
 *   initialize (bin/cached-bundle.js) once that compile is done; compiled here, on the first
 *   connection, it held the first chat ~12 ms.
 */
const undiciPatches = [
  patchModule('undici-client', 'undici/lib/dispatcher/client.js', [
    ["const http = require('node:http')\n", ''],
    [
      `const getDefaultNodeMaxHeaderSize = http &&
  http.maxHeaderSize &&
  Number.isInteger(http.maxHeaderSize) &&
  http.maxHeaderSize > 0
  ? () => http.maxHeaderSize
  : () => { throw new InvalidArgumentError('http module not available or http.maxHeaderSize invalid') }`,
      `function getDefaultNodeMaxHeaderSize () {
  const { maxHeaderSize } = require('node:http')
  if (Number.isInteger(maxHeaderSize) && maxHeaderSize > 0) return maxHeaderSize
  throw new InvalidArgumentError('http module not available or http.maxHeaderSize invalid')
}`,
    ],
  ]),
  patchModule('undici-client-h1', 'undici/lib/dispatcher/client-h1.js', [
    [
      "      mod = new WebAssembly.Module(require('../llhttp/llhttp_simd-wasm.js'))",
      `      mod = require(${JSON.stringify(CACHED_BUNDLE)}).compiledWasm('llhttp_simd') ?? new WebAssembly.Module(require('../llhttp/llhttp_simd-wasm.js'))`,
    ],
  ]),
  patchModule('undici-util', 'undici/lib/core/util.js', [
    ["const { IncomingMessage } = require('node:http')\n", ''],
    [
      'Object.getPrototypeOf(stream).constructor === IncomingMessage',
      "Object.getPrototypeOf(stream).constructor?.name === 'IncomingMessage' && Object.getPrototypeOf(stream).constructor === require('node:http').IncomingMessage",
    ],
  ]),
];

/**
 * undici's llhttp constants, a module that builds ~30 tables of character codes and names at its
 * load (~1.8 ms here the first time), for a parser type and error codes: client-h1.js, its one
 * importer, reads `constants.ERROR` and `constants.TYPE`. The bundle holds those tables alone, as
 * JSON (~0.05 ms). The build fails if another module imports it, if client-h1.js uses the module
 * other than through `constants.<NAME>`, or if what it reads is not plain data.
 */
const llhttpConstantsAsData = {
  name: 'llhttp-constants-as-data',
  setup(build) {
    const constantsFile = /[\\/]undici[\\/]lib[\\/]llhttp[\\/]constants\.js$/;
    const importer = /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client-h1\.js$/;
    let used;
    build.onResolve({ filter: /[\\/]llhttp[\\/]constants(\.js)?$/ }, (args) => {
      if (!importer.test(args.importer)) throw new Error(`${args.importer} imports undici's llhttp constants: see llhttpConstantsAsData`);
      const text = fs.readFileSync(args.importer, 'utf8');
      used = new Set([...text.matchAll(/\bconstants\.([A-Z_]+)\b/g)].map((m) => m[1]));
      const uses = [...text.matchAll(/\bconstants\b(.)/g)].filter((m) => m[1] !== '.' && m[1] !== ' ');
      if (uses.length !== 0 || used.size === 0)
        throw new Error(`${args.importer} uses undici's llhttp constants otherwise than constants.<NAME>`);
      return undefined;
    });
    build.onLoad({ filter: constantsFile }, (args) => {
      const constants = require(args.path);
      const data = Object.fromEntries([...used].map((name) => [name, constants[name]]));
      const json = JSON.stringify(data);
      if (!require('node:util').isDeepStrictEqual(JSON.parse(json), data)) throw new Error(`${args.path}: ${[...used]} is not plain data`);
      return { contents: `module.exports = JSON.parse(${JSON.stringify(json)});\n`, loader: 'js' };
    });
  },
};

/**
 * vscode-jsonrpc's node:crypto (~3 ms) and node:os, which it needs only to name pipes and make
 * UUIDs the server never asks for: required on first use.
 */
const LAZY_CRYPTO = [
  'const crypto_1 = require("crypto");',
  'const crypto_1 = { randomBytes: (n) => require("crypto").randomBytes(n), randomUUID: () => require("crypto").randomUUID() };',
];
const vscodeJsonrpcPatches = [
  patchModule('vscode-jsonrpc-main', 'vscode-jsonrpc/lib/node/main.js', [
    LAZY_CRYPTO,
    ['const os = __importStar(require("os"));', 'const os = { tmpdir: () => require("os").tmpdir() };'],
  ]),
  patchModule('vscode-jsonrpc-ril', 'vscode-jsonrpc/lib/node/ril.js', [LAZY_CRYPTO]),
];

/** Runs node with `args` and `env`, sends `messages` and ends its input; resolves at its exit. */
function serveOnce(args, env, messages) {
  const child = spawn(process.execPath, args, { env });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  child.stdin.end(messages.map((m) => `${JSON.stringify(m)}\n`).join(''));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

/**
 * Starts the server through bin/chutes-rpc, sends `messages`, and has it write the code cache of the
 * bundles named in `caches` at exit.
 */
async function warmUp(messages, caches) {
  const files = caches.map((name) => path.join(dist, `${name}.bundle.cache`));
  for (const file of files) fs.rmSync(file, { force: true });
  const server = await startStandIn();
  const home = configuredHome(os.tmpdir(), `http://127.0.0.1:${server.address().port}/v1`);
  const env = serveEnv({ CHUTES_RPC_HOME: home, CHUTES_API_KEY: 'cpk_code_cache_warm_up', CHUTES_RPC_WRITE_CODE_CACHE: caches.join(',') });
  // --on-eof wait: every message is answered, then the server exits 0.
  const { code, out, err } = await serveOnce([path.join(root, 'bin', 'chutes-rpc'), 'serve', '--on-eof', 'wait'], env, messages);
  server.close();
  fs.rmSync(home, { recursive: true, force: true });
  if (code !== 0 || !files.every((file) => fs.existsSync(file)) || out.includes('"error"')) {
    throw new Error(`the code cache was not made (exit ${code}): ${out.slice(0, 500)} ${err}`);
  }
}

/**
 * The serve bundle's cache holds what start-up, initialize and one chat.stream after it compile in
 * that bundle (a chat runs ~60 of its functions that initialize does not: compiled at each first
 * chat without them, ~2 ms); the serve-calls, serve-pacing and Agent bundles' what that chat
 * (paced: the warm-up's home keeps the default) compiled in them.
 */
async function writeCodeCaches() {
  await warmUp([INITIALIZE, CHAT], ['serve']);
  await warmUp([INITIALIZE, CHAT], ['serve-calls', 'serve-pacing', 'undici-agent']);
  compiledOnlyCache('serve-more');
}

/**
 * A cache of what loading bundle `name` compiles, without running any of its modules (no offline
 * run reaches serve-more's calls): spares its first load pre-parsing the whole text. Written by the
 * launcher as a warm-up run writes the others, under the V8 flags it is loaded with.
 */
function compiledOnlyCache(name) {
  const file = path.join(dist, `${name}.bundle.cache`);
  fs.rmSync(file, { force: true });
  const load = `require(${JSON.stringify(path.join(root, 'bin', 'cached-bundle.js'))}).loadBundle(${JSON.stringify(name)})`;
  const r = spawnSync(process.execPath, ['-e', load], { env: serveEnv({ CHUTES_RPC_WRITE_CODE_CACHE: name }), encoding: 'utf8' });
  if (r.status !== 0 || !fs.existsSync(file)) throw new Error(`the code cache of ${name} was not made (exit ${r.status}): ${r.stderr}`);
}

/**
 * What start-up and initialize run (module paths from the root), on the compiled serve path the serve
 * bundle is made of, once with a config file and an API key and once with neither: the serve
 * bundle holds these, its other parts (serve-calls, serve-pacing, serve-more) the rest.
 */
async function modulesRunByInitialize() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-probe-'));
  const report = path.join(dir, 'modules.json');
  const probe = path.join(dir, 'probe.js');
  fs.writeFileSync(
    probe,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(report)}, JSON.stringify(Object.keys(require.cache))));\n`,
  );
  const run = `require(${JSON.stringify(serveEntry)}).tryServe(['serve', '--on-eof', 'wait'])`;
  const keys = new Set();
  try {
    for (const env of [
      serveEnv({ CHUTES_RPC_HOME: configuredHome(dir, 'http://127.0.0.1:9/v1'), CHUTES_API_KEY: 'cpk_module_probe' }),
      serveEnv({ CHUTES_RPC_HOME: fs.mkdtempSync(path.join(dir, 'home-')), CHUTES_API_KEY: undefined }),
    ]) {
      const { code, out, err } = await serveOnce(['-r', probe, '-e', run], env, [INITIALIZE]);
      if (code !== 0 || !out.includes('"result"')) throw new Error(`the module probe failed (exit ${code}): ${out.slice(0, 500)} ${err}`);
      for (const file of JSON.parse(fs.readFileSync(report, 'utf8'))) keys.add(keyOf(root, file));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return keys;
}

async function main() {
  // Minified (scripts/support/ascii-bundle.js), the bundles are about half their size; licence
  // comments go to <bundle>.LEGAL.txt beside each.
  await buildAsciiBundle({
    stdin: {
      contents:
        "module.exports = { Agent: require('undici/lib/dispatcher/agent.js'), buildConnector: require('undici/lib/core/connect.js') };",
      resolveDir: root,
      loader: 'js',
    },
    outfile: path.join(dist, 'undici-agent.bundle.js'),
    legalComments: 'external',
    plugins: [agentPathOnly, ...undiciPatches, llhttpConstantsAsData, lazyAssert, llhttpFiles, launcherExternal],
  });
  const servePlugins = [
    undiciAgentBundle,
    launcherExternal,
    staticValidators(BUNDLED_VALIDATORS),
    ...vscodeJsonrpcPatches,
    lockfileOnNodeFs,
    lazyAssert,
  ];
  const serveOptions = { legalComments: 'external', external };
  // The whole serve path once, for the list of what it is made of.
  const whole = path.join(dist, 'serve-whole.bundle.js');
  const { metafile } = await buildAsciiBundle({
    ...serveOptions,
    entryPoints: [serveEntry],
    outfile: whole,
    metafile: true,
    plugins: servePlugins,
  });
  for (const file of [whole, `${whole}.LEGAL.txt`]) fs.rmSync(file, { force: true });
  const inputs = new Set(Object.keys(metafile.inputs));
  const firstKeys = new Set([...(await modulesRunByInitialize())].filter((key) => inputs.has(key)));
  const partOf = (key) => {
    if (firstKeys.has(key)) return 'serve';
    if (PACING_PART.test(key)) return 'serve-pacing';
    return MORE_PART.test(key) && !MORE_PART_BUT.has(key) ? 'serve-more' : 'serve-calls';
  };
  const bundle = (name) => ({ ...serveOptions, outfile: path.join(dist, `${name}.bundle.js`), plugins: servePlugins });
  await splitBuild({
    root,
    parts: [
      { name: 'serve', options: { ...bundle('serve'), entryPoints: [serveEntry] } },
      { name: 'serve-calls', options: bundle('serve-calls') },
      { name: 'serve-pacing', options: bundle('serve-pacing') },
      { name: 'serve-more', options: bundle('serve-more') },
    ],
    partOf,
    loadPart: `require(${JSON.stringify(CACHED_BUNDLE)}).loadBundle(name)`,
    build: buildAsciiBundle,
  });
  await writeCodeCaches();
}

main().catch((err) => {
  console.error(`bundle-serve: ${err.message}`);
  process.exit(1);
});
