#!/usr/bin/env node
// The ceiling: the least a process hop can do and still be an adapter. NDJSON requests in; for each
// chat.stream one undici request to UPSTREAM_URL; each read of the body split on blank lines,
// JSON.parse of every event, JSON.stringify of a chat.delta for each chunk with content, and one
// stdout write per read (waiting for 'drain' when the pipe is full); then the reply. No schema
// checks, retries, cancellation, framing detection, error mapping or assembled message.
// bench/cpu-per-delta.bench.js holds chutes-rpc to a small margin over this.
'use strict';
// chutes-rpc's V8 flags (bin/v8-flags.js), so that the ratio compares the work done per delta, not
// the runtime's settings.
require('../bin/v8-flags').applyV8Flags();
const { Agent, request } = require('undici');

const url = `${process.env.UPSTREAM_URL}/chat/completions`;
// The idle-socket policy of chutes-rpc (IDLE_SOCKET_MS, MAX_IDLE_SOCKET_MS): how long an idle
// connection is kept decides how many rounds of the bench reconnect, which is not per-delta work;
// with 30 s here and 4 s there, the paced rounds compared reconnecting against reusing.
const { IDLE_SOCKET_MS, MAX_IDLE_SOCKET_MS } = require('../dist/chutes/http/upstream-dispatcher');
const dispatcher = new Agent({ keepAliveTimeout: IDLE_SOCKET_MS, keepAliveMaxTimeout: MAX_IDLE_SOCKET_MS });
const out = process.stdout;

let draining;
/** One wait for 'drain' shared by every stream that found the pipe full. */
function drained() {
  return (draining ??= new Promise((resolve) =>
    out.once('drain', () => {
      draining = undefined;
      resolve();
    }),
  ));
}

async function chat(id, params) {
  const res = await request(url, {
    dispatcher,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: params.model, messages: params.messages, stream: true, max_tokens: params.maxTokens }),
  });
  const streamId = String(id);
  const decoder = new TextDecoder();
  let rest = '';
  let seq = 0;
  for await (const bytes of res.body) {
    const events = (rest + decoder.decode(bytes, { stream: true })).split('\n\n');
    rest = events.pop();
    let lines = '';
    for (const e of events) {
      const data = e.slice(6);
      if (data === '[DONE]') continue;
      const content = JSON.parse(data).choices[0]?.delta?.content;
      if (content) lines += `${JSON.stringify({ jsonrpc: '2.0', method: 'chat.delta', params: { streamId, seq: seq++, content } })}\n`;
    }
    if (lines !== '' && !out.write(lines)) await drained();
  }
  out.write(`${JSON.stringify({ jsonrpc: '2.0', id, result: { streamId, deltas: seq } })}\n`);
}

let rest = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  const lines = (rest + text).split('\n');
  rest = lines.pop();
  for (const line of lines) {
    const m = JSON.parse(line);
    if (m.method === 'chat.stream') void chat(m.id, m.params);
    else out.write(`${JSON.stringify({ jsonrpc: '2.0', id: m.id, result: {} })}\n`);
  }
});
process.stdin.on('end', () => process.exit(0));
