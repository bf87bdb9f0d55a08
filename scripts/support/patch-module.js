// An esbuild plugin that edits one module's text as it goes into a bundle (scripts/bundle-serve.js,
// scripts/bundle-cli.js).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** Replaces each [find, replace] of `replacements` in the module at `file` (a path ending); the build fails when a `find` is gone. */
function patchModule(name, file, replacements) {
  const filter = new RegExp(`${file.split('/').join('[\\\\/]').replace(/\./g, '\\.')}$`);
  return {
    name,
    setup(build) {
      build.onLoad({ filter }, (args) => {
        let text = fs.readFileSync(args.path, 'utf8');
        for (const [find, replace] of replacements) {
          if (!text.includes(find)) throw new Error(`${args.path} no longer holds ${JSON.stringify(find)}`);
          text = text.split(find).join(replace);
        }
        return { contents: text, loader: 'js', resolveDir: path.dirname(args.path) };
      });
    },
  };
}

module.exports = { patchModule };
