'use strict';
// Jest (before Node 24.9) cannot require ES modules, and @noble/post-quantum and the @noble
// packages it imports ship only ESM; Node itself loads them through require(esm). Jest compiles
// them to CommonJS with esbuild (already a dev dependency) instead.
const esbuild = require('esbuild');

module.exports = {
  process(source, filename) {
    const { code, map } = esbuild.transformSync(source, { format: 'cjs', target: 'node20', sourcefile: filename, sourcemap: true });
    return { code, map };
  },
};
