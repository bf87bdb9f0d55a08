'use strict';
// `chutes-rpc serve --record FILE` over NDJSON, for the scripts that make cassettes: call() sends a
// request and resolves with its reply; finish() ends the input and resolves with the exit code.
const path = require('node:path');
const { spawn } = require('node:child_process');

function startRecordingAdapter(home, file, { stderr = 'inherit' } = {}) {
  const bin = path.join(__dirname, '..', '..', 'bin', 'chutes-rpc');
  const child = spawn(process.execPath, [bin, 'serve', '--framing', 'ndjson', '--record', file], {
    env: { PATH: process.env.PATH, CHUTES_RPC_HOME: home, CHUTES_RPC_CONFIG: path.join(home, 'config.json5') },
    stdio: ['pipe', 'pipe', stderr],
  });
  let errText = '';
  child.stderr?.on('data', (d) => (errText += d));
  const exited = new Promise((r) => child.on('exit', r));
  const replies = new Map();
  let buffered = '';
  child.stdout.on('data', (d) => {
    buffered += d;
    for (let i; (i = buffered.indexOf('\n')) >= 0;) {
      const msg = JSON.parse(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
      if (msg.id !== undefined) replies.get(msg.id)?.(msg);
    }
  });
  let id = 0;
  return {
    call: (method, params) =>
      new Promise((resolve) => {
        replies.set(++id, resolve);
        child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
      }),
    finish: async () => {
      child.stdin.end();
      return { code: await exited, stderr: errText };
    },
  };
}

module.exports = { startRecordingAdapter };
