#!/usr/bin/env node
// Writes fixtures/cassettes/live-2026.json by recording (`serve --record`) the adapter against a
// loopback Chutes that follows the corrected wire notes ("2026 corrections"): requests renamed to the
// model that serves them, a cumulative usage in every chunk, X-Chutes-* headers, reasoning inline as
// <think> tags cut across chunks, thinking turned off through chat_template_kwargs, a tool round trip
// whose history the mock checks as the server does (400 for arguments that are not JSON), the daily
// free-model 429 and a quota 402 with its ISO reset time. The recorded origin is rewritten to
// https://llm.chutes.ai, and request bodies are cut down to what tells the requests apart.
// Run `npm run build` first; then: node scripts/make-live-cassettes.js
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const root = path.join(__dirname, '..');
const out = path.join(root, 'fixtures', 'cassettes', 'live-2026.json');
const modelList = JSON.parse(fs.readFileSync(path.join(root, 'fixtures', 'cassettes', 'models-demo.json'), 'utf8')).interactions[0].response
  .json;

let n = 0;
const headers = (extra = {}) => ({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  'x-chutes-invoice-billing': 'true',
  'x-chutes-invocationid': `7c1e2d3f-4a5b-4c6d-8e9f-${String(++n).padStart(12, '0')}`,
  'x-chutes-rl-user': '60',
  'x-chutes-rl-chute': 'inf',
  'x-chutes-quota-total': '300',
  'x-chutes-quota-used': String(40 + n),
  'x-chutes-quota-remaining': String(260 - n),
  ...extra,
});

/** A stream as newer servers send it: every chunk with the cumulative usage (continuous_usage_stats). */
function stream(res, served, prompt, deltas, finish = 'stop') {
  res.writeHead(200, headers());
  const id = `chatcmpl-${(0x5f3759df * n).toString(16)}`;
  let completion = 0;
  const chunk = (delta, finishReason = null) => {
    if (delta.content || delta.reasoning_content || delta.tool_calls) completion++;
    const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: null };
    const c = {
      id,
      object: 'chat.completion.chunk',
      created: 1787400000 + n,
      model: served,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      usage,
    };
    res.write(`data: ${JSON.stringify(c)}\n\n`);
  };
  chunk({ role: 'assistant', content: '' });
  for (const d of deltas) chunk(d);
  chunk({}, finish);
  res.end('data: [DONE]\n\n');
}

function refuse(res, status, detail) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ detail }));
}

/** The history checks the server makes before it invokes anything. */
function historyProblem(messages) {
  for (const m of messages) {
    for (const c of m.tool_calls ?? []) {
      try {
        if (c.function.arguments !== '') JSON.parse(c.function.arguments);
      } catch {
        return 'Invalid tool_calls.function.arguments value, expected JSON';
      }
    }
    if (m.role === 'tool' && !messages.some((a) => (a.tool_calls ?? []).some((c) => c.id === m.tool_call_id))) {
      return `Invalid request: tool message for unknown tool_call_id ${m.tool_call_id}`;
    }
  }
  return undefined;
}

const RENAMES = { 'deepseek-ai/DeepSeek-V3.2': 'deepseek-ai/DeepSeek-V3.2-TEE' };

function chat(body, res) {
  const problem = historyProblem(body.messages);
  if (problem) return refuse(res, 400, problem);
  const served = RENAMES[body.model] ?? body.model;
  switch (body.model) {
    case 'deepseek-ai/DeepSeek-V3.2':
      return stream(
        res,
        served,
        14,
        ['Bonjour', ' !', ' Comment', ' ça va ?'].map((content) => ({ content })),
      );
    case 'Qwen/Qwen3-32B-TEE':
      if (body.chat_template_kwargs?.thinking === false) return stream(res, served, 18, [{ content: 'Four.' }]);
      return stream(
        res,
        served,
        18,
        ['<thi', 'nk>\nTwo plus two', ' is four.\n</th', 'ink>\n\n', 'Four.'].map((content) => ({ content })),
      );
    case 'moonshotai/Kimi-K2.5-TEE': {
      if (body.messages.some((m) => m.role === 'tool')) {
        return stream(
          res,
          served,
          96,
          ['It is 21 °C', ' and sunny in Lisbon.'].map((content) => ({ content })),
        );
      }
      return stream(
        res,
        served,
        80,
        [
          { reasoning_content: 'The user wants the weather: call get_weather.' },
          { tool_calls: [{ index: 0, id: 'call_0f9e8d7c6b5a', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
          { tool_calls: [{ index: 0, function: { arguments: '{"city": ' } }] },
          { tool_calls: [{ index: 0, function: { arguments: '"Lisbon"}' } }] },
        ],
        'tool_calls',
      );
    }
    case 'zai-org/GLM-4.7-Flash':
      return refuse(res, 429, 'Free models limit reached for today - maintain >= $10 balance or upgrade subscription to increase limits.');
    case 'zai-org/GLM-4.7-TEE':
      return refuse(res, 402, {
        message: 'Quota exceeded for today; upgrade or add balance.',
        quota_reset_timestamp: '2026-11-22T00:00:00+00:00',
      });
    default:
      return refuse(res, 404, `model not found: ${body.model}`);
  }
}

const CALLS = [
  { model: 'deepseek-ai/DeepSeek-V3.2', messages: [{ role: 'user', content: 'Say hello in French.' }] },
  // Thinking off first: on replay, the request without chat_template_kwargs must not take its answer.
  { model: 'Qwen/Qwen3-32B-TEE', thinking: false, messages: [{ role: 'user', content: 'What is 2+2?' }] },
  { model: 'Qwen/Qwen3-32B-TEE', messages: [{ role: 'user', content: 'What is 2+2?' }] },
  { model: 'zai-org/GLM-4.7-Flash', messages: [{ role: 'user', content: 'Hi' }] },
  { model: 'zai-org/GLM-4.7-TEE', messages: [{ role: 'user', content: 'Hi' }] },
];
const WEATHER_TOOL = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

/** Request fields that tell the recorded requests apart on replay (the rest may change freely). */
function matchBody(body) {
  const m = { model: body.model, stream: true };
  if (body.chat_template_kwargs) m.chat_template_kwargs = body.chat_template_kwargs;
  if (body.tools) {
    m.messages = body.messages.map((msg) => {
      const shape = { role: msg.role };
      if (msg.tool_calls) shape.tool_calls = msg.tool_calls;
      if (msg.tool_call_id) shape.tool_call_id = msg.tool_call_id;
      return shape;
    });
  }
  return m;
}

async function main() {
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(modelList));
      }
      if (req.method === 'POST' && req.url === '/v1/chat/completions') return chat(JSON.parse(text), res);
      refuse(res, 404, 'Not Found');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-live-'));
  fs.writeFileSync(
    path.join(home, 'config.json5'),
    JSON.stringify({
      models: {
        providers: {
          chutes: { baseUrl: `${origin}/v1`, apiKey: `cpk_${'0'.repeat(32)}.${'1'.repeat(32)}.${'a'.repeat(32)}`, retryBaseDelayMs: 1 },
        },
      },
    }),
  );
  const file = path.join(home, 'recorded.json');
  const child = spawn(process.execPath, [path.join(root, 'bin', 'chutes-rpc'), 'serve', '--framing', 'ndjson', '--record', file], {
    env: { PATH: process.env.PATH, CHUTES_RPC_HOME: home, CHUTES_RPC_CONFIG: path.join(home, 'config.json5') },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
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
  const call = (method, params) =>
    new Promise((resolve) => {
      replies.set(++id, resolve);
      child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
    });
  for (const params of CALLS) {
    const r = await call('chat.complete', params);
    console.log(`${params.model}: ${r.error ? `error ${r.error.code}` : `${r.result.model} "${r.result.message.content}"`}`);
  }
  // The round trip: the second request's history is built only from the first result's message.
  const user = { role: 'user', content: 'Weather in Lisbon?' };
  const first = await call('chat.complete', { model: 'moonshotai/Kimi-K2.5-TEE', tools: [WEATHER_TOOL], messages: [user] });
  const asked = first.result.message;
  const second = await call('chat.complete', {
    model: 'moonshotai/Kimi-K2.5-TEE',
    tools: [WEATHER_TOOL],
    messages: [user, asked, { role: 'tool', tool_call_id: asked.toolCalls[0].id, content: '{"temp_c": 21, "sky": "sunny"}' }],
  });
  if (second.error) throw new Error(`the round trip failed: ${JSON.stringify(second.error)}`);
  console.log(`round trip: "${second.result.message.content}"`);
  child.stdin.end();
  await new Promise((r) => child.on('exit', r));
  server.close();

  const recorded = JSON.parse(fs.readFileSync(file, 'utf8'));
  const interactions = [];
  let models = false;
  for (const i of recorded.interactions) {
    i.request.url = i.request.url.replace(origin, 'https://llm.chutes.ai');
    if (i.request.url.endsWith('/v1/models')) {
      if (models) continue;
      models = true;
      i.repeat = true;
    }
    if (i.request.body) i.request.body = matchBody(i.request.body);
    interactions.push(i);
  }
  const cassette = {
    version: 1,
    description:
      'Recorded by scripts/make-live-cassettes.js from a loopback Chutes that follows the 2026 wire corrections: deepseek-ai/DeepSeek-V3.2 served as -TEE with a cumulative usage in every chunk; Qwen/Qwen3-32B-TEE with <think> tags cut across chunks, and without thinking (chat_template_kwargs.thinking false); a get_weather round trip on moonshotai/Kimi-K2.5-TEE whose second request must carry tool_calls in the wire shape; the daily free-model 429 on zai-org/GLM-4.7-Flash; a quota 402 with quota_reset_timestamp on zai-org/GLM-4.7-TEE.',
    interactions,
  };
  fs.writeFileSync(out, JSON.stringify(cassette, null, 2) + '\n');
  fs.rmSync(home, { recursive: true, force: true });
  console.log(`wrote ${out}: ${interactions.length} interactions`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
