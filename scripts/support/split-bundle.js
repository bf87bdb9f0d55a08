// Splits what would be one bundle in two, without a module in both: the first bundle holds the
// modules a run needs at start (`firstKeys`), the second the rest, loaded the first time one of them
// is required. A module in both would be two instances of it (two classes of one error, two of a
// cache); instead a require across the line goes through a table of the other bundle's modules:
//   - in the first bundle, a module of the second is a stub that loads the second bundle (once) and
//     returns `modules[key]()` from it;
//   - in the second, a module of the first is a stub that returns the first bundle's instance, from
//     the table the first hands it when it loads it (`link`).
// Any split is correct; a good one only decides what start-up reads and compiles.
'use strict';
const path = require('node:path');

/** Esbuild's pluginData for the resolve a plugin asks for itself, which it must not answer again. */
const OWN_RESOLVE = Symbol('split-bundle');

/** A module's key: its path from `root` with forward slashes, as esbuild's metafile names inputs. */
function keyOf(root, file) {
  return path.relative(root, file).split(path.sep).join('/');
}

/**
 * Resolves every require from a file the default way (with the other plugins) and hands files to
 * `redirect(key)`, whose answer (an esbuild onResolve result) replaces the resolution when it gives one.
 */
function redirectFiles(build, root, redirect) {
  build.onResolve({ filter: /.*/ }, async (args) => {
    if (args.pluginData === OWN_RESOLVE || args.kind === 'entry-point' || args.namespace !== 'file') return undefined;
    const resolved = await build.resolve(args.path, {
      kind: args.kind,
      importer: args.importer,
      resolveDir: args.resolveDir,
      pluginData: OWN_RESOLVE,
    });
    if (resolved.errors.length > 0 || resolved.external || resolved.namespace !== 'file') return undefined;
    return redirect(keyOf(root, resolved.path));
  });
}

/** JS text of an object that maps each key to a function requiring its module (`root`/key). */
function requireTable(root, keys) {
  return `{${[...keys].map((key) => `${JSON.stringify(key)}: () => require(${JSON.stringify(path.join(root, key))})`).join(',\n')}}`;
}

/** `module.exports = ` an expression, as an esbuild module. */
const exportsOf = (expression, resolveDir) => ({ contents: `module.exports = ${expression};\n`, loader: 'js', resolveDir });

/**
 * The first bundle's plugin. `loadSecond` is the JS expression that loads the second bundle
 * (evaluated once, in a module whose directory is `resolveDir`). Adds to `secondKeys` each module of
 * the second bundle the first requires: the table the second bundle must export.
 */
function firstBundle({ root, firstKeys, loadSecond, resolveDir, secondKeys }) {
  return {
    name: 'split-bundle-first',
    setup(build) {
      redirectFiles(build, root, (key) => {
        if (firstKeys.has(key)) return undefined;
        secondKeys.add(key);
        return { path: key, namespace: 'split-second' };
      });
      build.onResolve({ filter: /^split-bundle:link$/ }, () => ({ path: 'link', namespace: 'split-link' }));
      build.onLoad({ filter: /.*/, namespace: 'split-second' }, (args) =>
        exportsOf(`require('split-bundle:link').second(${JSON.stringify(args.path)})`, root),
      );
      build.onLoad({ filter: /.*/, namespace: 'split-link' }, () => {
        return {
          contents:
            `let second;\n` +
            `const first = ${requireTable(root, firstKeys)};\n` +
            `exports.second = (key) => {\n` +
            `  if (!second) {\n` +
            `    second = ${loadSecond};\n` +
            `    second.link(first);\n` +
            `  }\n` +
            `  return second.modules[key]();\n` +
            `};\n`,
          loader: 'js',
          resolveDir,
        };
      });
    },
  };
}

/**
 * The second bundle: build it from `secondEntry(root, secondKeys)` (esbuild's stdin) with this
 * plugin, after the first bundle was built and filled `secondKeys`.
 */
function secondBundle({ root, firstKeys }) {
  return {
    name: 'split-bundle-second',
    setup(build) {
      redirectFiles(build, root, (key) => (firstKeys.has(key) ? { path: key, namespace: 'split-first' } : undefined));
      build.onResolve({ filter: /^split-bundle:link$/ }, () => ({ path: 'link', namespace: 'split-link' }));
      build.onLoad({ filter: /.*/, namespace: 'split-first' }, (args) =>
        exportsOf(`require('split-bundle:link').first(${JSON.stringify(args.path)})`, root),
      );
      build.onLoad({ filter: /.*/, namespace: 'split-link' }, () => ({
        contents: `let first;\nexports.link = (table) => { first = table; };\nexports.first = (key) => first[key]();\n`,
        loader: 'js',
        resolveDir: root,
      }));
    },
  };
}

/** The second bundle's entry (esbuild's stdin): its link, and the table of what the first requires. */
function secondEntry(root, secondKeys) {
  return {
    contents: `exports.link = require('split-bundle:link').link;\nexports.modules = ${requireTable(root, [...secondKeys].sort())};\n`,
    resolveDir: root,
    loader: 'js',
  };
}

module.exports = { firstBundle, secondBundle, secondEntry, keyOf };
