// One temporary directory per jest run, removed at its end: TMPDIR points into it for the workers
// and every process they spawn, so the homes, cassettes and demo directories the tests make (some
// holding test credentials) never pile up in the real temporary directory.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const VARIABLE = 'CHUTES_RPC_TEST_RUN_TMP';

function setUpRunTmp() {
  if (process.env[VARIABLE]) return process.env[VARIABLE];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-test-run-'));
  process.env[VARIABLE] = dir;
  process.env.TMPDIR = dir;
  return dir;
}

function tearDownRunTmp() {
  const dir = process.env[VARIABLE];
  if (!dir) return;
  fs.rmSync(dir, { recursive: true, force: true });
  delete process.env[VARIABLE];
}

module.exports = { setUpRunTmp, tearDownRunTmp, VARIABLE };
