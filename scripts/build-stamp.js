#!/usr/bin/env node
// Records what dist/ was built from, so that the tests never run against a stale build
// (spec/global-setup.js). The record is dist/.build-inputs.json: the SHA-1 of every input file,
// written only when a build finishes and only if no input changed while it ran. Contents are
// compared, not times: a checkout, a `touch`, a copy that keeps old times or a revert cannot fool it.
//
//   node scripts/build-stamp.js begin   first step of `npm run build`: forget the old record
//   node scripts/build-stamp.js end     last step: write the record (inputs as read at `begin`)
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const STAMP = path.join(root, 'dist', '.build-inputs.json');
const PENDING = path.join(root, 'dist', '.build-inputs.pending.json');
// What the build reads (bin/: the code cache is made by running it). lib/generated/ and schemas/openrpc.json are not in it: the build writes them.
const INPUT_DIRS = ['bin', 'lib', 'schemas', 'scripts'];
const INPUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
const OUTPUTS = new Set(['lib/generated', 'schemas/openrpc.json']);

function walk(rel, out) {
  if (OUTPUTS.has(rel)) return;
  let entries;
  try {
    entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return;
    throw err;
  }
  for (const e of entries) {
    const child = `${rel}/${e.name}`;
    if (e.isDirectory()) walk(child, out);
    else if (e.isFile() && !e.name.endsWith('.tmp') && !OUTPUTS.has(child)) out.push(child);
  }
}

/** Every input file (relative, '/'-separated) and the SHA-1 of its contents, in a stable order. */
function inputDigests() {
  const files = [];
  for (const dir of INPUT_DIRS) walk(dir, files);
  for (const f of INPUT_FILES) if (fs.existsSync(path.join(root, f))) files.push(f);
  files.sort();
  const digests = {};
  for (const f of files)
    digests[f] = crypto
      .createHash('sha1')
      .update(fs.readFileSync(path.join(root, f)))
      .digest('hex');
  return digests;
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The inputs that differ between two records, added, changed and removed files alike. */
function changedInputs(recorded, current) {
  const names = new Set([...Object.keys(recorded), ...Object.keys(current)]);
  return [...names].filter((f) => recorded[f] !== current[f]).sort();
}

/**
 * Why dist/ cannot be trusted, or undefined when it was built from exactly the current inputs.
 * @returns {{ reason: string, changed: string[] } | undefined}
 */
function staleness() {
  const recorded = readJson(STAMP);
  if (!recorded || typeof recorded.inputs !== 'object') {
    return { reason: 'no record of a finished build in dist/', changed: [] };
  }
  const changed = changedInputs(recorded.inputs, inputDigests());
  if (changed.length === 0) return undefined;
  const more = changed.length > 1 ? ` and ${changed.length - 1} other input${changed.length > 2 ? 's' : ''}` : '';
  return { reason: `${changed[0]}${more} changed since the last build`, changed };
}

function begin() {
  fs.mkdirSync(path.dirname(STAMP), { recursive: true });
  fs.rmSync(STAMP, { force: true });
  fs.writeFileSync(PENDING, JSON.stringify({ inputs: inputDigests() }));
}

function end() {
  const pending = readJson(PENDING);
  fs.rmSync(PENDING, { force: true });
  if (!pending) {
    process.stderr.write('build-stamp: no `begin` record; dist/ is left unrecorded, the next test run rebuilds\n');
    return;
  }
  const changed = changedInputs(pending.inputs, inputDigests());
  if (changed.length > 0) {
    // The build may have read some of these before and some after the change.
    process.stderr.write(`build-stamp: ${changed[0]} changed during the build; dist/ is left unrecorded, the next test run rebuilds\n`);
    return;
  }
  const tmp = `${STAMP}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ inputs: pending.inputs }, null, 1) + '\n');
  fs.renameSync(tmp, STAMP);
}

module.exports = { inputDigests, staleness, STAMP };

if (require.main === module) {
  const step = process.argv[2];
  if (step === 'begin') begin();
  else if (step === 'end') end();
  else {
    process.stderr.write('usage: node scripts/build-stamp.js begin|end\n');
    process.exit(2);
  }
}
