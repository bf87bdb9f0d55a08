// What the build's warm-up runs need to make code caches (scripts/bundle-serve.js,
// scripts/bundle-cli.js): a local stand-in for the API, a home pointing at it, and the environment.
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

/** A local stand-in for the API, for the one chat that warms the code cache. */
function startStandIn() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'GET') return void res.end('{"object":"list","data":[]}');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta, finish) => `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.end(`${chunk({ role: 'assistant', content: 'warm' }, null)}${chunk({}, 'stop')}data: [DONE]\n\n`);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A new home under `parent` whose config points the provider at `baseUrl`. */
function configuredHome(parent, baseUrl) {
  const home = fs.mkdtempSync(path.join(parent, 'chutes-rpc-home-'));
  fs.writeFileSync(path.join(home, 'config.json5'), JSON.stringify({ models: { providers: { chutes: { baseUrl } } } }));
  return home;
}

/**
 * This process's environment for a server the build runs, with `vars` set (undefined: removed) and
 * without NODE_EXTRA_CA_CERTS, which slows every start.
 */
function serveEnv(vars) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  for (const [name, value] of Object.entries(vars)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

module.exports = { configuredHome, serveEnv, startStandIn };
