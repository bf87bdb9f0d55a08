// A local stand-in for the Chutes API: POST /v1/chat/completions answers an event stream in the
// real wire shape, GET /v1/models an empty list. `max_tokens` in the request is the number of
// content chunks; `upstream.mode` says how they are sent:
//   burst  the whole body at once, in 64 KiB writes (as fast as the reader takes it)
//   paced  5 chunks every 100 ms per stream, streams spread evenly over each 100 ms
//   held   the role chunk, then nothing until release(), then the content and the end at once
// Over https when given a key and certificate (bench/support/self-signed.js makes one).
'use strict';
const http = require('node:http');
const https = require('node:https');

const MODEL = 'zai-org/GLM-4.7-Flash';
const BASE = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1787391200, model: MODEL };
const PACE_CHUNKS = 5;
const PACE_MS = 100;
const PACE_SLOTS = 10;

const event = (value) => `data: ${JSON.stringify(value)}\n\n`;
const ROLE = event({
  ...BASE,
  choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
  usage: null,
});

function contentEvent(i, tag) {
  const delta = { content: ` ${tag}${i % 1000}` };
  return event({
    ...BASE,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null, matched_stop: null }],
    usage: null,
    chutes_verification: '2b2b847d04afca72b5e532ce3b05feb2',
  });
}

function ending(n) {
  return (
    event({ ...BASE, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }) +
    event({ ...BASE, choices: [], usage: { prompt_tokens: 10, completion_tokens: n, total_tokens: n + 10 } }) +
    'data: [DONE]\n\n'
  );
}

const bodies = new Map();
/** The whole body of an n-chunk stream, built once. */
function sseBody(n) {
  let body = bodies.get(n);
  if (!body) {
    const parts = [ROLE];
    for (let i = 0; i < n; i++) parts.push(contentEvent(i, 't'));
    parts.push(ending(n));
    body = Buffer.from(parts.join(''));
    bodies.set(n, body);
  }
  return body;
}

/** Content chunks from..to-1, as one write. */
function contentRange(from, to) {
  let s = '';
  for (let i = from; i < to; i++) s += contentEvent(i, 't');
  return s;
}

async function sendBurst(res, body) {
  for (let i = 0; i < body.length && !res.destroyed; i += 65536) {
    if (!res.write(body.subarray(i, i + 65536))) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}

/** The stand-in, listening on 127.0.0.1; over https with `tls` ({ key, cert }). */
function startUpstream({ tls } = {}) {
  const paced = Array.from({ length: PACE_SLOTS }, () => new Set());
  let slot = 0;
  let pacer;
  let held = [];
  let sockets = 0;
  let nextSlot = 0;

  const pace = () => {
    const due = paced[slot];
    slot = (slot + 1) % PACE_SLOTS;
    for (const s of due) {
      if (s.res.destroyed) {
        due.delete(s);
        continue;
      }
      const to = Math.min(s.sent + PACE_CHUNKS, s.n);
      s.res.write(contentRange(s.sent, to));
      s.sent = to;
      if (to === s.n) {
        s.res.end(ending(s.n));
        due.delete(s);
      }
    }
  };

  const server = (tls ? https : http).createServer(tls ?? {}, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET') {
        res.setHeader('content-type', 'application/json');
        res.end('{"object":"list","data":[]}');
        return;
      }
      const n = JSON.parse(Buffer.concat(chunks).toString()).max_tokens;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (upstream.mode === 'burst') return void sendBurst(res, sseBody(n));
      res.write(ROLE);
      if (upstream.mode === 'paced') {
        paced[nextSlot++ % PACE_SLOTS].add({ res, n, sent: 0 });
        pacer ??= setInterval(pace, PACE_MS / PACE_SLOTS);
      } else {
        res.write(contentEvent(0, 'h'));
        held.push({ res, n });
      }
    });
  });
  server.on('connection', () => sockets++);
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 0;
  server.requestTimeout = 0;

  const upstream = {
    mode: 'burst',
    url: '',
    /** Streams waiting for release(). */
    held: () => held.length,
    /** Connections accepted so far. */
    connections: () => sockets,
    /**
     * Builds the burst body of an n-chunk stream now (200,000 chunks take the stand-in over a
     * second), so that no timed request pays for it: the first one to ask for it did.
     */
    prepare(n) {
      sseBody(n);
    },
    /** Sends every held stream its remaining n - 1 content chunks and its end, all at once. */
    release() {
      const now = held;
      held = [];
      for (const { res, n } of now) void sendBurst(res, Buffer.from(contentRange(1, n) + ending(n)));
    },
    close() {
      clearInterval(pacer);
      server.closeAllConnections();
      return new Promise((r) => server.close(r));
    },
  };
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      upstream.url = `${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}/v1`;
      resolve(upstream);
    }),
  );
}

module.exports = { startUpstream, sseBody, MODEL, PACE_CHUNKS, PACE_MS };
