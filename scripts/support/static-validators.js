// An esbuild plugin that puts schema validators inside a bundle. dist/schema-validation.js loads each
// generated validator (dist/generated/validators/<file>.js) by a computed path, which a bundler
// cannot follow; the plugin gives it a table of literal requires for `files`, and the path stays the
// way to any other.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', '..', 'dist');

/** The schema validators the build made (dist/generated/validators/<name>.js), by name. */
function validatorNames() {
  return fs
    .readdirSync(path.join(dist, 'generated', 'validators'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => f.slice(0, -3));
}

const DYNAMIC = "require(path.join(__dirname, 'generated', 'validators', `${file}.js`))";

/** `files`: validator file names without .js (as lib/generated/validator-keys.ts names them). */
function staticValidators(files) {
  return {
    name: 'static-validators',
    setup(build) {
      build.onLoad({ filter: /[\\/]dist[\\/]schema-validation\.js$/ }, (args) => {
        const text = fs.readFileSync(args.path, 'utf8');
        if (!text.includes(DYNAMIC)) throw new Error(`${args.path} no longer loads validators as expected`);
        const table = files.map((f) => `${JSON.stringify(f)}: () => require(${JSON.stringify(`./generated/validators/${f}.js`)})`);
        return {
          contents: `${text.replace(DYNAMIC, `(__validators[file] ?? (() => ${DYNAMIC}))()`)}\nconst __validators = {${table.join(',')}};\n`,
          loader: 'js',
          resolveDir: path.dirname(args.path),
        };
      });
    },
  };
}

module.exports = { staticValidators, validatorNames };
