// Splits what would be one bundle into parts, without a module in two: the root part holds the
// modules a run needs at start, each other part is loaded the first time one of its modules is
// required. A module in two parts would be two instances of it (two classes of one error, two of a
// cache); instead a require across parts goes through the root's link:
//   - a module of another part is, where it is required, a stub returning `link.module(key)`;
//   - the root's link knows which part holds each key, loads that part once (and hands it its own
//     `module`, for that part's requires across), and returns `part.modules[key]()`;
//   - each part exports the table of its modules that the other parts require (`modules`).
// Any split is correct; a good one only decides what start-up and a first call read and compile.
//
// Built in passes (splitBuild) until what each part requires from the others is known: each part
// is then written with the table of what the others need from it.
'use strict';
const path = require('node:path');

/** Esbuild's pluginData for the resolve a plugin asks for itself, which it must not answer again. */
const OWN_RESOLVE = Symbol('split-bundle');

/** A module's key: its path from `root` with forward slashes, as esbuild's metafile names inputs. */
function keyOf(root, file) {
  return path.relative(root, file).split(path.sep).join('/');
}

/** JS text of an object that maps each key to a function requiring its module (`root`/key). */
function requireTable(root, keys) {
  return `{${[...keys]
    .sort()
    .map((key) => `${JSON.stringify(key)}: () => require(${JSON.stringify(path.join(root, key))})`)
    .join(',\n')}}`;
}

/**
 * The plugin of part `self`: a module of another part (`partOf(key)`) becomes a stub through the
 * link, and is added to `required` (key -> part) as what this part needs from the others. `link`
 * is the text of this part's `split-bundle:link` module.
 */
function partPlugin({ root, self, partOf, required, link }) {
  return {
    name: `split-bundle-${self}`,
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData === OWN_RESOLVE || args.kind === 'entry-point' || args.namespace !== 'file') return undefined;
        const resolved = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: OWN_RESOLVE,
        });
        if (resolved.errors.length > 0 || resolved.external || resolved.namespace !== 'file') return undefined;
        const key = keyOf(root, resolved.path);
        const part = partOf(key);
        if (part === self) return undefined;
        required.set(key, part);
        return { path: key, namespace: 'split-across' };
      });
      build.onResolve({ filter: /^split-bundle:link$/ }, () => ({ path: 'link', namespace: 'split-link' }));
      build.onLoad({ filter: /.*/, namespace: 'split-across' }, (args) => ({
        contents: `module.exports = require('split-bundle:link').module(${JSON.stringify(args.path)});\n`,
        loader: 'js',
        resolveDir: root,
      }));
      build.onLoad({ filter: /.*/, namespace: 'split-link' }, () => ({ contents: link, loader: 'js', resolveDir: root }));
    },
  };
}

/**
 * The root's link: its own table; which part holds each key the parts require across (`elsewhere`,
 * [key, part] pairs; the keys it does not name are in `usual`); and the loading of a part
 * (`loadPart`, a JS expression of its name in `name`).
 */
function rootLink(root, ownKeys, elsewhere, usual, loadPart) {
  const named = elsewhere.filter(([, part]) => part !== usual).sort(([a], [b]) => (a < b ? -1 : 1));
  return (
    `const own = ${requireTable(root, ownKeys)};\n` +
    `const elsewhere = ${JSON.stringify(Object.fromEntries(named))};\n` +
    `const parts = {};\n` +
    `exports.module = function across(key) {\n` +
    `  if (Object.hasOwn(own, key)) return own[key]();\n` +
    `  const name = elsewhere[key] ?? ${JSON.stringify(usual)};\n` +
    `  let part = parts[name];\n` +
    `  if (!part) {\n` +
    `    part = parts[name] = ${loadPart};\n` +
    `    part.link(across);\n` +
    `  }\n` +
    `  return part.modules[key]();\n` +
    `};\n`
  );
}

/** Another part's link: it requires across through the root's `module`, handed over when the root loads it. */
const PART_LINK = `let root;\nexports.link = (module) => { root = module; };\nexports.module = (key) => root(key);\n`;

/**
 * Builds the parts with `build(options)` (scripts/support/ascii-bundle.js's buildAsciiBundle):
 * `parts` is [{ name, options }] with the root first, whose options give its entry, then the part
 * most modules are in; every part but the root has its table for entry. `partOf(key)` names the
 * part of every module; `loadPart` is the JS expression, run in the root with the part's name in
 * `name`, that loads another part.
 *
 * Each pass builds every part with what the passes before learned was required across; a table
 * that grew can make its part require more, so passes go on until one learns nothing new, and the
 * files that one wrote are the result.
 */
async function splitBuild({ root, parts, partOf, loadPart, build }) {
  const [rootPart] = parts;
  /** Every key some part requires across, and the part that holds it. */
  const across = new Map();
  const neededFrom = (name) => new Set([...across].filter(([, part]) => part === name).map(([key]) => key));
  for (let pass = 1; pass <= 5; pass++) {
    const learned = new Map();
    const elsewhere = [...across].filter(([, part]) => part !== rootPart.name);
    for (const part of parts) {
      const isRoot = part === rootPart;
      const link = isRoot ? rootLink(root, neededFrom(part.name), elsewhere, parts[1].name, loadPart) : PART_LINK;
      const entry = isRoot ? {} : { stdin: partEntry(root, neededFrom(part.name)) };
      await build({
        ...part.options,
        ...entry,
        plugins: [partPlugin({ root, self: part.name, partOf, required: learned, link }), ...part.options.plugins],
      });
    }
    const grew = [...learned.keys()].filter((key) => !across.has(key));
    for (const [key, part] of learned) across.set(key, part);
    if (grew.length === 0) return;
  }
  throw new Error('split-bundle: the parts kept requiring more across after 5 passes');
}

/** A part's entry (esbuild's stdin): its link, and the table of its modules the others require. */
function partEntry(root, keys) {
  return {
    contents: `exports.link = require('split-bundle:link').link;\nexports.modules = ${requireTable(root, keys)};\n`,
    resolveDir: root,
    loader: 'js',
  };
}

module.exports = { splitBuild, keyOf };
