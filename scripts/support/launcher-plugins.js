// esbuild plugins for the bundles bin/chutes-rpc loads (scripts/bundle-serve.js, scripts/bundle-cli.js):
// they reach the launcher's bin/cached-bundle.js at run time, and through it the Agent bundle.
'use strict';
const path = require('node:path');

const agentModule = path.join(__dirname, '..', '..', 'dist', 'chutes', 'http', 'undici-agent.js');
/** bin/cached-bundle.js, from dist/: a bundle loads the Agent bundle (and the serve bundle its other parts) through it. */
const CACHED_BUNDLE = '../bin/cached-bundle.js';

/** bin/cached-bundle.js stays the launcher's module, required from dist/ at run time. */
const launcherExternal = {
  name: 'launcher-external',
  setup(build) {
    build.onResolve({ filter: /cached-bundle\.js$/ }, (args) =>
      args.path === CACHED_BUNDLE ? { path: CACHED_BUNDLE, external: true } : undefined,
    );
  },
};

/** dist/chutes/http/undici-agent.js becomes the Agent bundle, loaded with its code cache; `undici` itself stays external. */
const undiciAgentBundle = {
  name: 'undici-agent-bundle',
  setup(build) {
    build.onResolve({ filter: /undici-agent$/ }, (args) =>
      path.resolve(args.resolveDir, `${args.path}.js`) === agentModule
        ? { path: agentModule, namespace: 'undici-agent-bundle' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'undici-agent-bundle' }, () => ({
      contents: `module.exports = require(${JSON.stringify(CACHED_BUNDLE)}).loadBundle('undici-agent');`,
      loader: 'js',
    }));
  },
};

module.exports = { CACHED_BUNDLE, launcherExternal, undiciAgentBundle };
