'use strict';
// What the scripts that record a cassette from a loopback Chutes share: the loopback server, the
// model list it answers /v1/models with, the placeholder key, and how the recording becomes a
// cassette (origin rewritten, one /v1/models replayed as often as asked).
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const ROOT = path.join(__dirname, '..', '..');

/** An API-key-shaped placeholder: never a real key, and masked like one. */
const PLACEHOLDER_API_KEY = `cpk_${'0'.repeat(32)}.${'1'.repeat(32)}.${'a'.repeat(32)}`;

/** The live model list of fixtures/cassettes/models-demo.json. */
function demoModelList() {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'fixtures', 'cassettes', 'models-demo.json'), 'utf8')).interactions[0].response.json;
}

/** A loopback server that hands `route(req, bodyText, res)` each whole request; resolves with its origin and close(). */
async function startLoopback(route) {
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => route(req, text, res));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/**
 * The recorded interactions with each URL rewritten by `publicUrl(pathAndQuery)`: the first
 * GET /v1/models is kept and marked to repeat, later ones are left out.
 */
function cassetteInteractions(file, origin, publicUrl) {
  const interactions = [];
  let models = false;
  for (const i of JSON.parse(fs.readFileSync(file, 'utf8')).interactions) {
    const rest = i.request.url.slice(origin.length);
    i.request.url = publicUrl(rest);
    if (rest === '/v1/models') {
      if (models) continue;
      models = true;
      i.repeat = true;
    }
    interactions.push(i);
  }
  return interactions;
}

function writeCassette(out, description, interactions) {
  fs.writeFileSync(out, JSON.stringify({ version: 1, description, interactions }, null, 2) + '\n');
  console.log(`wrote ${out}: ${interactions.length} interactions`);
}

module.exports = { PLACEHOLDER_API_KEY, demoModelList, startLoopback, cassetteInteractions, writeCassette, ROOT };
