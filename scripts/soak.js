#!/usr/bin/env node
// The soak test (not in CI): N minutes of mixed traffic at 50 concurrent requests against a
// loopback upstream, through bin/chutes-rpc serve. Prints requests vs replies and the slopes of
// the server's RSS and open file descriptors; exits 1 on a lost or doubled reply, or a leak.
//   npm run soak -- --minutes 5 [--concurrency 50]
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const MINUTES = arg('minutes', Number(process.env.SOAK_MINUTES ?? 5));
const CONCURRENCY = arg('concurrency', 50);
const SAMPLE_MS = 5000;
const ROOT = path.resolve(__dirname, '..');

const chunk = (model, delta, finish = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-soak', object: 'chat.completion.chunk', created: 1787391200, model, choices: [{ index: 0, delta, finish_reason: finish }], usage: null })}\n\n`;
const usage = (model) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-soak', object: 'chat.completion.chunk', model, choices: [], usage: { prompt_tokens: 5, completion_tokens: 20, total_tokens: 25 } })}\n\n`;
const tick = (ms) => new Promise((r) => setTimeout(r, ms));

async function stream(res, model, n, gapMs) {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(chunk(model, { role: 'assistant', content: '' }));
  for (let i = 0; i < n && !res.destroyed; i++) {
    res.write(chunk(model, { content: `token ${i} ` }));
    if (gapMs) await tick(gapMs);
    else if (i % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  if (res.destroyed) return;
  res.end(chunk(model, {}, 'stop') + usage(model) + 'data: [DONE]\n\n');
}

function upstream() {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method === 'GET') {
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ object: 'list', data: [] }));
      }
      const model = JSON.parse(body).model;
      if (model === 'soak/stream') return void stream(res, model, 20 + Math.floor(Math.random() * 40), 0);
      if (model === 'soak/slow') return void stream(res, model, 100, 20);
      if (model === 'soak/error500') {
        res.writeHead(500, { 'content-type': 'application/json' });
        return res.end('{"detail":"soak: internal error"}');
      }
      if (model === 'soak/bad') {
        res.writeHead(400, { 'content-type': 'application/json' });
        return res.end('{"detail":"soak: bad request"}');
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(chunk(model, { content: 'partial ' }) + '{"error": "soak: failed mid-stream"}\n');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function slope(samples, key) {
  // Least squares over the second half (after warm-up), per minute.
  const s = samples.slice(Math.floor(samples.length / 2));
  if (s.length < 3) return 0;
  const n = s.length;
  const mx = s.reduce((a, p) => a + p.t, 0) / n;
  const my = s.reduce((a, p) => a + p[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const p of s) {
    num += (p.t - mx) * (p[key] - my);
    den += (p.t - mx) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60_000;
}

async function main() {
  const server = await upstream();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-soak-'));
  const base = `http://127.0.0.1:${server.address().port}/v1`;
  fs.writeFileSync(
    path.join(home, 'config.json5'),
    JSON.stringify({
      models: {
        providers: {
          chutes: { baseUrl: base, apiKey: 'cpk_soak_fake_key', maxRetries: 1, retryBaseDelayMs: 1, rateLimit: { requestsPerMinute: 0 } },
        },
      },
    }),
  );
  const env = { ...process.env, CHUTES_RPC_HOME: home };
  for (const k of Object.keys(env)) if (k.startsWith('CHUTES_') && k !== 'CHUTES_RPC_HOME') delete env[k];
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'chutes-rpc'), 'serve', '--framing', 'ndjson'], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-4000)));
  const pending = new Map();
  const counts = { requests: 0, replies: 0, duplicates: 0, unknown: 0, results: 0, errors: 0, cancelled: 0, deltas: 0 };
  let tail = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text) => {
    const lines = (tail + text).split('\n');
    tail = lines.pop();
    for (const line of lines) {
      const m = JSON.parse(line);
      if (m.method === 'chat.delta') {
        counts.deltas++;
        pending.get(Number(m.params.streamId))?.onDelta?.();
        continue;
      }
      if (m.method !== undefined) continue;
      const p = pending.get(m.id);
      if (!p) {
        if (typeof m.id === 'number' && m.id <= counts.requests) counts.duplicates++;
        else counts.unknown++;
        continue;
      }
      pending.delete(m.id);
      counts.replies++;
      if (m.result) counts.results++;
      else if (m.error.code === -32800) counts.cancelled++;
      else counts.errors++;
      p.resolve(m);
    }
  });
  const send = (msg) => child.stdin.write(JSON.stringify(msg) + '\n');
  const call = (method, params, onDelta) => {
    const id = ++counts.requests;
    return new Promise((resolve) => {
      pending.set(id, { resolve, onDelta: onDelta && (() => onDelta(id)) });
      send({ jsonrpc: '2.0', id, method, params });
    });
  };
  await call('initialize', {});
  const messages = [{ role: 'user', content: 'soak' }];
  const ops = [
    () => call('chat.stream', { model: 'soak/stream', messages }),
    () => call('chat.complete', { model: 'soak/stream', messages }),
    () => {
      let cancelled = false;
      return call('chat.stream', { model: 'soak/slow', messages }, (id) => {
        if (cancelled) return;
        cancelled = true;
        send({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id } });
      });
    },
    () => call('chat.complete', { model: 'soak/error500', messages }),
    () => call('chat.complete', { model: 'soak/bad', messages }),
    () => call('chat.stream', { model: 'soak/midfail', messages }),
    () => call('config.validate', { config: {} }),
    () => call('no.such.method', {}),
  ];
  const started = Date.now();
  const deadline = started + MINUTES * 60_000;
  const samples = [];
  const sample = () => {
    const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s*(\d+)/.exec(status)[1]) / 1024;
    const fds = fs.readdirSync(`/proc/${child.pid}/fd`).length;
    samples.push({ t: Date.now() - started, rss, fds });
    process.stdout.write(
      `${((Date.now() - started) / 60_000).toFixed(1)} min: ${counts.requests} requests, ${counts.replies} replies, RSS ${rss.toFixed(1)} MiB, ${fds} fds\n`,
    );
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  sample();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) await ops[Math.floor(Math.random() * ops.length)]();
    }),
  );
  clearInterval(sampler);
  sample();
  const outstanding = pending.size;
  child.stdin.end();
  const code = await new Promise((r) => child.once('exit', r));
  server.close();
  fs.rmSync(home, { recursive: true, force: true });

  const rssSlope = slope(samples, 'rss');
  const fdSlope = slope(samples, 'fds');
  // RSS (garbage collection) and fds (connections in use) are saw-tooths: a leak shows as rising
  // troughs, so compare the lowest value of the last quarter with that of the third.
  const quarter = Math.floor(samples.length / 4);
  const floor = (part, key = 'rss') => (part.length ? Math.min(...part.map((s) => s[key])) : 0);
  const rssGrowth = quarter ? floor(samples.slice(3 * quarter)) - floor(samples.slice(2 * quarter, 3 * quarter)) : 0;
  const fdGrowth = quarter ? floor(samples.slice(3 * quarter), 'fds') - floor(samples.slice(2 * quarter, 3 * quarter), 'fds') : 0;
  // ...and a leak also pushes past the highest value of the first half: fds that go up and down
  // between the same bounds (connections in use at 50 concurrent) are not one.
  const peak = (part, key) => (part.length ? Math.max(...part.map((s) => s[key])) : 0);
  const firstHalf = samples.slice(0, Math.floor(samples.length / 2));
  const rssAbove = peak(samples.slice(3 * quarter), 'rss') - peak(firstHalf, 'rss');
  const fdAbove = peak(samples.slice(3 * quarter), 'fds') - peak(firstHalf, 'fds');
  const lost = counts.requests - counts.replies;
  const rssValues = samples.map((s) => s.rss);
  console.log('');
  console.log(`duration         ${MINUTES} min at ${CONCURRENCY} concurrent`);
  console.log(`requests         ${counts.requests}`);
  console.log(`replies          ${counts.replies} (results ${counts.results}, errors ${counts.errors}, cancelled ${counts.cancelled})`);
  console.log(`lost / doubled   ${lost} / ${counts.duplicates} (unknown ids ${counts.unknown}, outstanding at the end ${outstanding})`);
  console.log(`deltas           ${counts.deltas}`);
  console.log(
    `RSS              ${Math.min(...rssValues).toFixed(1)}-${Math.max(...rssValues).toFixed(1)} MiB, slope ${rssSlope.toFixed(2)} MiB/min over the second half, troughs ${rssGrowth >= 0 ? '+' : ''}${rssGrowth.toFixed(1)} MiB (last quarter vs third)`,
  );
  console.log(
    `fds              ${Math.min(...samples.map((s) => s.fds))}-${Math.max(...samples.map((s) => s.fds))}, slope ${fdSlope.toFixed(2)} /min over the second half, troughs ${fdGrowth >= 0 ? '+' : ''}${fdGrowth}`,
  );
  console.log(`exit code        ${code}`);
  const problems = [];
  if (lost !== 0 || counts.duplicates || counts.unknown) problems.push('a reply was lost, doubled or unknown');
  if (code !== 0) problems.push(`the server exited ${code}: ${stderr}`);
  if (rssSlope > 1 && rssGrowth > 8 && rssAbove > 8)
    problems.push(`RSS grows (${rssSlope.toFixed(2)} MiB/min, troughs up ${rssGrowth.toFixed(1)} MiB)`);
  if (fdSlope > 1 && fdGrowth > 5 && fdAbove > 5)
    problems.push(`file descriptors grow (${fdSlope.toFixed(2)}/min, troughs up ${fdGrowth})`);
  if (problems.length) {
    console.log(`FAIL: ${problems.join('; ')}`);
    process.exit(1);
  }
  console.log('OK');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
