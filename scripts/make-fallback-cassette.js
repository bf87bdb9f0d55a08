#!/usr/bin/env node
// Writes fixtures/cassettes/fallback.json (the conformance scenario chat-fallback replays it) by
// recording (`serve --record`) the adapter against a loopback Chutes: zai-org/GLM-4.7-TEE answers a
// quota 402, zai-org/GLM-4.7-Flash the daily free-model 429, and the fallback deepseek-ai/DeepSeek-V3.2
// (served as -TEE) streams its answer. The config names the fallback in agents.defaults.model.fallbacks.
// Three calls are recorded: the 402 then the fallback, the 429 then the fallback, and a second call to
// GLM-4.7-Flash that the exhaustion mark answers without a request (so the cassette holds one 429:
// an adapter that asked again would find nothing to replay). The recorded origin is rewritten to
// https://llm.chutes.ai, and request bodies are cut down to the model.
// Run `npm run build` first; then: node scripts/make-fallback-cassette.js
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRecordingAdapter } = require('./support/recording-adapter');
const {
  PLACEHOLDER_API_KEY,
  ROOT,
  cassetteInteractions,
  demoModelList,
  startLoopback,
  writeCassette,
} = require('./support/cassette-recording');

const out = path.join(ROOT, 'fixtures', 'cassettes', 'fallback.json');
const modelList = demoModelList();

let n = 0;

function stream(res, served, words) {
  n++;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-chutes-invocationid': `5d6e7f80-1a2b-4c3d-8e9f-${String(n).padStart(12, '0')}`,
    'x-chutes-rl-user': '60',
  });
  let completion = 0;
  const chunk = (delta, finish = null) => {
    if (delta.content) completion++;
    const c = {
      id: `chatcmpl-fallback-${n}`,
      object: 'chat.completion.chunk',
      created: 1787500000 + n,
      model: served,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      usage: { prompt_tokens: 9, completion_tokens: completion, total_tokens: 9 + completion, prompt_tokens_details: null },
    };
    res.write(`data: ${JSON.stringify(c)}\n\n`);
  };
  chunk({ role: 'assistant', content: '' });
  for (const content of words) chunk({ content });
  chunk({}, 'stop');
  res.end('data: [DONE]\n\n');
}

function refuse(res, status, detail) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ detail }));
}

function chat(body, res) {
  switch (body.model) {
    case 'zai-org/GLM-4.7-TEE':
      return refuse(res, 402, {
        message: 'Quota exceeded for today; upgrade or add balance.',
        quota_reset_timestamp: '2026-12-01T00:00:00+00:00',
      });
    case 'zai-org/GLM-4.7-Flash':
      return refuse(res, 429, 'Free models limit reached for today - maintain >= $10 balance or upgrade subscription to increase limits.');
    case 'deepseek-ai/DeepSeek-V3.2':
      return stream(res, 'deepseek-ai/DeepSeek-V3.2-TEE', ['Hello', ' from', ' the', ' fallback.']);
    default:
      return refuse(res, 404, `model not found: ${body.model}`);
  }
}

async function main() {
  const server = await startLoopback((req, text, res) => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(modelList));
    }
    if (req.method === 'POST' && req.url === '/v1/chat/completions') return chat(JSON.parse(text), res);
    refuse(res, 404, 'Not Found');
  });
  const { origin } = server;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-fallback-'));
  fs.writeFileSync(
    path.join(home, 'config.json5'),
    JSON.stringify({
      agents: { defaults: { model: { primary: 'chutes/zai-org/GLM-4.7-TEE', fallbacks: ['chutes/deepseek-ai/DeepSeek-V3.2'] } } },
      models: {
        providers: {
          chutes: { baseUrl: `${origin}/v1`, apiKey: PLACEHOLDER_API_KEY, retryBaseDelayMs: 1 },
        },
      },
    }),
  );
  const file = path.join(home, 'recorded.json');
  const adapter = startRecordingAdapter(home, file);
  const call = (params) => adapter.call('chat.complete', params);
  const messages = [{ role: 'user', content: 'Hello' }];
  // The model list first: a chat call looks its model up while it sends, so which of the two
  // answers was recorded first would otherwise change from run to run.
  const listed = await adapter.call('models.discover', {});
  if (listed.error) throw new Error(`models.discover: ${JSON.stringify(listed.error)}`);
  for (const params of [
    { messages },
    { model: 'chutes/zai-org/GLM-4.7-Flash', messages },
    { model: 'chutes/zai-org/GLM-4.7-Flash', messages },
  ]) {
    const r = await call(params);
    if (r.error) throw new Error(`${params.model ?? 'the default'}: ${JSON.stringify(r.error)}`);
    const passed = r.result.fallbackReasons.map((f) => `${f.model} ${f.type}${f.skipped ? ' (skipped)' : ''}`).join(', ');
    console.log(`${r.result.requestedModel} -> ${r.result.model}: passed over ${passed}`);
  }
  await adapter.finish();
  server.close();

  const interactions = cassetteInteractions(file, origin, (rest) => `https://llm.chutes.ai${rest}`);
  for (const i of interactions) if (i.request.body) i.request.body = { model: i.request.body.model, stream: true };
  writeCassette(
    out,
    'Recorded by scripts/make-fallback-cassette.js from a loopback Chutes: a quota 402 on zai-org/GLM-4.7-TEE and the daily free-model 429 on zai-org/GLM-4.7-Flash (recorded once: the exhaustion mark answers the second call), each followed by the fallback deepseek-ai/DeepSeek-V3.2, served as -TEE.',
    interactions,
  );
  fs.rmSync(home, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
