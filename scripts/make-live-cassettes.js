#!/usr/bin/env node
// Writes the cassettes in fixtures/cassettes by recording (`serve --record`) the adapter against a
// loopback Chutes that follows the corrected wire notes ("2026 corrections"): streams with a
// cumulative usage in every chunk (continuous_usage_stats) and the final `choices: []` usage chunk,
// each chunk's `model` the chute that served (requests renamed to it), X-Chutes-InvocationID and the
// quota/rate-limit headers on successful invocations only (never on errors or /v1/models), no
// Retry-After anywhere, FastAPI `detail` error bodies with the server's texts, and the other
// recorded scenarios (reasoning in its three forms, tool calls, retries, errors mid-stream, model
// lists). Every cassette keeps the scenario it always had; see SESSIONS below.
//
// One adapter process records each cassette. The recorded origin is rewritten to the real hosts,
// request bodies are cut down to what tells the requests apart on replay, and pacing (eventIntervalMs)
// and `repeat` are added where the scenarios need them. Ids, timestamps and counters are fixed, so a
// second run gives the same bytes (spec/fixtures/cassettes-drift.spec.ts checks this).
//
// The model lists the mock serves are data, not wire shape: they are read from the cassettes this
// script writes (models-demo.json, models-edge.json, models-401.json), which makes those a fixed point.
// OAuth token calls cannot be recorded usefully (--record masks every token and drops form bodies by
// design): conformance-auth.json combines the recorded model list with token answers written here in
// the live shapes.
//
// Run `npm run build` first; then: node scripts/make-live-cassettes.js [--out DIR] [name...]
// (npm run cassettes does both).
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { startRecordingAdapter } = require('./support/recording-adapter');

const root = path.join(__dirname, '..');
const fixtures = path.join(root, 'fixtures', 'cassettes');
const LLM = 'https://llm.chutes.ai';
const API = 'https://api.chutes.ai';

/** The model list a cassette answers GET /v1/models with (the data the mock serves). */
function listIn(name) {
  const c = JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8'));
  return c.interactions.find((i) => i.request.url.endsWith('/v1/models') && i.response.status === 200).response.json;
}
const DEMO_LIST = listIn('models-demo.json');
const EDGE_LIST = listIn('models-edge.json');
const SHORT_LIST = listIn('models-401.json');

// ---------------------------------------------------------------------------------------------
// The mock: what the corrected wire notes say the service sends.

/** Headers of a successful invocation ([25]): the invocation id, billing, quota and rate-limit headers. */
function okHeaders({ invocation, quota = [5000, 125], rlChute }) {
  const h = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    'x-chutes-invoice-billing': 'true',
    'x-chutes-invocationid': invocation,
    'x-chutes-rl-user': '60',
  };
  if (rlChute !== undefined) h['x-chutes-rl-chute'] = rlChute;
  if (quota) {
    h['x-chutes-quota-total'] = String(quota[0]);
    h['x-chutes-quota-used'] = String(quota[1]);
    h['x-chutes-quota-remaining'] = String(quota[0] - quota[1]);
  }
  return h;
}

const textOf = (d) =>
  (d.content ?? '') +
  (d.reasoning_content ?? '') +
  (d.reasoning ?? '') +
  (d.tool_calls ?? []).map((c) => (c.function?.name ?? '') + (c.function?.arguments ?? '')).join('');

/**
 * The events of one stream as newer servers send it: every chunk with the cumulative usage so far
 * (continuous_usage_stats [8]), then the final `choices: []` chunk with the total, then [DONE] (or, for
 * a stream that fails, `tail` written raw). `completion`: the total completion tokens, spread over the
 * deltas by their length (default: one token per delta that carries text).
 */
function streamEvents(s) {
  const deltas = [{ role: 'assistant', content: '' }, ...s.deltas];
  const weights = deltas.map((d) => (textOf(d) === '' ? 0 : s.completion === undefined ? 1 : textOf(d).length));
  const sum = weights.reduce((a, b) => a + b, 0);
  const total = s.completion ?? sum;
  let prefix = 0;
  const cumulative = weights.map((w) => Math.round(((prefix += w) * total) / (sum || 1)));
  const details = s.cached === undefined ? null : { cached_tokens: s.cached };
  const usage = (completion) => ({
    prompt_tokens: s.prompt,
    completion_tokens: completion,
    total_tokens: s.prompt + completion,
    prompt_tokens_details: details,
  });
  let k = 0;
  const chunk = (choices, completion) => {
    const c = { id: s.id, object: 'chat.completion.chunk', created: s.created, model: s.served, choices, usage: usage(completion) };
    // SGLang's matched_stop and Chutes' chutes_verification: fields a client must ignore.
    if (s.extras)
      c.chutes_verification = (Math.imul(0x9e3779b1, ++k + s.created) >>> 0).toString(16).padStart(8, '0') + '5e0c1d2b3a4f5e6d7c8b9a0f';
    return c;
  };
  const choice = (delta, finish = null, matched = null) => {
    const c = { index: 0, delta, logprobs: null, finish_reason: finish };
    if (s.extras) c.matched_stop = matched;
    return c;
  };
  const events = deltas.map((d, i) => chunk([choice(d)], cumulative[i]));
  if (s.tail !== undefined) return events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + s.tail;
  events.push(chunk([choice(s.finishDelta ?? {}, s.finish ?? 'stop', s.extras && s.finish !== 'tool_calls' ? 154820 : null)], total));
  events.push(chunk([], total));
  return events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';
}

const words = (text) => text.match(/\S+\s*|\s+/g);

/** A mock answer: an event stream, a FastAPI error, a JSON body, or raw text. */
const sse = (stream, headers) => ({ status: 200, headers: okHeaders(headers), text: streamEvents(stream) });
const refuse = (status, detail) => ({ status, headers: { 'content-type': 'application/json' }, text: JSON.stringify({ detail }) });
const json = (value) => ({ status: 200, headers: { 'content-type': 'application/json' }, text: JSON.stringify(value) });
/** The 503 of a cold chute, literally as the server words it [23]. */
const cold = (chuteId) => refuse(503, `No instances available (yet) for chute_id='${chuteId}'`);

/** The history checks the server makes before it invokes anything ([12], and an unknown tool_call_id). */
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

// ---------------------------------------------------------------------------------------------
// The scenarios. Each: the mock's answers (`chat(body, state)` for POST /v1/chat/completions,
// `models(req, state)` for GET /v1/models), what the host does (`drive`), and how the recording
// becomes the cassette (`post`, after the common rewriting).

const WEATHER_TOOL = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};
const user = (content) => [{ role: 'user', content }];
const bodyOnly =
  (...keys) =>
  (b) =>
    Object.fromEntries(keys.filter((k) => b[k] !== undefined).map((k) => [k, b[k]]));
const models = (list) => () => json(list);
const byModel = (interactions) => {
  const seen = new Set();
  return interactions.filter((i) => (seen.has(i.request.body?.model) ? false : seen.add(i.request.body?.model)));
};

const GLM_FLASH = 'zai-org/GLM-4.7-Flash';
const QWEN = 'Qwen/Qwen3-32B-TEE';
const KIMI = 'moonshotai/Kimi-K2.5-TEE';

const SESSIONS = {
  'chat-text': {
    description:
      'chat.stream "Hello!" on zai-org/GLM-4.7-Flash: reasoning as delta.reasoning_content, then text, finish stop, a cumulative usage in every chunk and the final usage chunk (choices: []), then [DONE]; X-Chutes-InvocationID, quota and rate-limit headers. Used by the chat specs and the CLI tests.',
    chat: () =>
      sse(
        {
          id: 'a4c1f0e2b7d94b6c8e1f3a5b7c9d0e1f',
          created: 1787391200,
          served: GLM_FLASH,
          prompt: 9,
          cached: 0,
          completion: 27,
          extras: true,
          deltas: [
            { reasoning_content: 'The user says hello.' },
            { reasoning_content: ' A short, friendly greeting back.' },
            { content: 'Hello' },
            { content: '! 👋 How can' },
            { content: ' I help you today?' },
          ],
          finishDelta: { content: '' },
        },
        { invocation: '7b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e' },
      ),
    drive: (call) => call('chat.stream', { model: GLM_FLASH, messages: user('Hello!') }),
    body: bodyOnly('model', 'stream'),
  },

  'chat-reasoning': {
    description:
      'Reasoning under delta.reasoning (the other field name engines use) on deepseek-ai/DeepSeek-R1-0528-TEE, then the answer; finish stop; a cumulative usage in every chunk and the final usage chunk.',
    chat: () =>
      sse(
        {
          id: 'b5d2e1f3c8a04c7d9f2a4b6c8d0e1f2a',
          created: 1787391210,
          served: 'deepseek-ai/DeepSeek-R1-0528-TEE',
          prompt: 14,
          completion: 11,
          extras: true,
          deltas: [{ reasoning: 'Two plus two' }, { reasoning: ' is four.' }, { content: '4' }],
        },
        { invocation: '5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d' },
      ),
    drive: (call) => call('chat.stream', { model: 'deepseek-ai/DeepSeek-R1-0528-TEE', messages: user('What is 2+2?') }),
    body: bodyOnly('model', 'stream'),
  },

  'chat-tools': {
    description:
      "Two parallel tool calls on Qwen/Qwen3-32B-TEE (get_weather, get_time), each call's id and name in its first chunk and its arguments split across several chunks; finish tool_calls; a cumulative usage in every chunk, with cached tokens.",
    chat: () =>
      sse(
        {
          id: 'c6e3f2a4d9b15d8e0a3b5c7d9e1f2a3b',
          created: 1787391220,
          served: QWEN,
          prompt: 212,
          cached: 128,
          completion: 48,
          extras: true,
          finish: 'tool_calls',
          deltas: [
            { tool_calls: [{ index: 0, id: 'call_7f3a9c1e2b4d4e6f', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
            { tool_calls: [{ index: 0, function: { arguments: '{"city": ' } }] },
            { tool_calls: [{ index: 0, function: { arguments: '"Paris", "unit"' } }] },
            { tool_calls: [{ index: 0, function: { arguments: ': "celsius"}' } }] },
            {
              tool_calls: [{ index: 1, id: 'call_2d8e4f6a1c3b4a5d', type: 'function', function: { name: 'get_time', arguments: '{"tz' } }],
            },
            { tool_calls: [{ index: 1, function: { arguments: '": "Europe/' } }] },
            { tool_calls: [{ index: 1, function: { arguments: 'Paris"}' } }] },
          ],
        },
        { invocation: '0c9d8e7f-6a5b-4c3d-8e1f-0a9b8c7d6e5f', rlChute: 'inf' },
      ),
    drive: (call) =>
      call('chat.stream', {
        model: QWEN,
        messages: user('Weather and time in Paris?'),
        tools: [WEATHER_TOOL, { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } }],
      }),
    body: bodyOnly('model', 'stream'),
  },

  'chat-retry': {
    description:
      'Busy, then cold, then served: 429 "Infrastructure is at maximum capacity" and 503 "No instances available (yet)", neither with a Retry-After (the server sends none: the client backs off on its own), then a short stream. The call succeeds with attempts 3. The 503 is a cold chute\'s, which the adapter warms up first unless warmup is false: the warm-up is not recorded here.',
    chat: (_body, state) => {
      state.n = (state.n ?? 0) + 1;
      if (state.n === 1) return refuse(429, 'Infrastructure is at maximum capacity, try again later');
      if (state.n === 2) return cold('3f2e1d0c-9b8a-5c7d-8e5f-4a3b2c1d0e9f');
      return sse(
        {
          id: 'd7f4a3b5e0c26e9f1b4c6d8e0f2a3b4c',
          created: 1787391230,
          served: GLM_FLASH,
          prompt: 8,
          completion: 4,
          extras: true,
          deltas: [{ content: 'Ready now.' }],
        },
        { invocation: '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d' },
      );
    },
    drive: (call) => call('chat.stream', { model: GLM_FLASH, messages: user('Hello') }),
    body: bodyOnly('model'),
  },

  'chat-401': {
    description: 'chat/completions answered 401 with a FastAPI detail: the key is unknown (no invocation id: errors carry none).',
    chat: () => refuse(401, "Can't find a user with that api key in our db :("),
    drive: (call) => call('chat.stream', { model: GLM_FLASH, messages: user('Hello!') }),
    body: () => undefined,
  },

  'chat-midstream-error': {
    description:
      'A stream that fails after two text chunks (each with its cumulative usage): the server writes a raw {"error": ...} with no data: prefix and no [DONE]. Malformed on purpose. The call fails with -32050 and data.partial "Once upon a time".',
    chat: () =>
      sse(
        {
          id: 'e8a5b4c6f1d37fa02c5d7e9f1a3b4c5d',
          created: 1787391240,
          served: GLM_FLASH,
          prompt: 12,
          completion: 4,
          extras: true,
          deltas: [{ content: 'Once upon' }, { content: ' a time' }],
          tail: '{"error":"Unhandled exception during response stream: CUDA error: an illegal memory access was encountered"}',
        },
        { invocation: '9e8d7c6b-5a4f-4e3d-8c1b-0a9f8e7d6c5b' },
      ),
    drive: (call) => call('chat.stream', { model: GLM_FLASH, messages: user('Tell me a story') }),
    body: () => undefined,
  },

  'conformance-chat-errors': {
    description:
      "chat/completions answering each error status the service sends, with its FastAPI detail body (the texts of the 2026 wire notes; no Retry-After, no invocation id); the request's model (test/http-<status>) picks the answer. Plus the model list.",
    models: models(DEMO_LIST),
    chat: (body) => {
      const status = Number(/^test\/http-(\d+)$/.exec(body.model)?.[1]);
      switch (status) {
        case 400:
          return refuse(400, 'Invalid request: messages[0].content must not be empty');
        case 401:
          return refuse(401, "Can't find a user with that api key in our db :(");
        case 402:
          return refuse(402, {
            message: 'Quota exceeded for today; upgrade or add balance.',
            quota_reset_timestamp: '2026-11-22T00:00:00+00:00',
          });
        case 403:
          return refuse(403, 'Token does not have permission for this resource');
        case 404:
          return refuse(404, `model not found: ${body.model}`);
        case 426:
          return refuse(426, 'This model is not running in a TEE, and X-TEE-Only was requested.');
        case 429:
          return refuse(429, 'Infrastructure is at maximum capacity, try again later');
        case 500:
          return refuse(500, 'exhausted all available targets to no avail');
        case 503:
          return cold('8f5f1e1a-0000-4000-8000-000000000503');
        default:
          return refuse(404, 'No matching chute found!');
      }
    },
    async drive(call) {
      await call('models.discover', {});
      for (const s of [400, 401, 402, 403, 404, 426, 429, 500, 503]) {
        await call('chat.stream', { model: `test/http-${s}`, messages: user('Hi') });
      }
    },
    config: { maxRetries: 0 },
    body: bodyOnly('model'),
    post: (interactions) => byModel(interactions).map((i) => ({ ...i, repeat: true })),
  },

  'conformance-concurrent': {
    description: 'Two streams on two models, paced so that they overlap: one counts in English, one in German.',
    models: models(DEMO_LIST),
    chat: (body) =>
      body.model === GLM_FLASH
        ? sse(
            {
              id: 'cc1',
              created: 1787391400,
              served: GLM_FLASH,
              prompt: 10,
              cached: 0,
              deltas: words('one two three four five six seven eight').map((content) => ({ content })),
            },
            { invocation: '00c0ffee-0000-4000-8000-0000000000e1' },
          )
        : sse(
            {
              id: 'cc2',
              created: 1787391400,
              served: QWEN,
              prompt: 10,
              cached: 0,
              deltas: words('eins zwei drei vier fünf sechs').map((content) => ({ content })),
            },
            { invocation: '00c0ffee-0000-4000-8000-0000000000d2', rlChute: 'inf' },
          ),
    async drive(call) {
      await call('models.discover', {});
      await call('chat.stream', { model: GLM_FLASH, messages: user('Count to eight') });
      await call('chat.stream', { model: QWEN, messages: user('Zähle bis sechs') });
    },
    body: bodyOnly('model'),
    post: (interactions) =>
      interactions.map((i) =>
        i.request.body
          ? { ...i, response: { ...i.response, eventIntervalMs: i.request.body.model === GLM_FLASH ? 15 : 20 }, repeat: true }
          : i,
      ),
  },

  'conformance-slow': {
    description: 'A long stream delivered slowly (one event every 80 ms), for cancellation and end-of-input scenarios.',
    models: models(DEMO_LIST),
    chat: () =>
      sse(
        {
          id: 'slow1',
          created: 1787391400,
          served: GLM_FLASH,
          prompt: 10,
          cached: 0,
          deltas: words('Once upon a time a model lived in an enclave and told stories that nobody else could read, '.repeat(3)).map(
            (content) => ({ content }),
          ),
        },
        { invocation: '00c0ffee-0000-4000-8000-00000000510e' },
      ),
    async drive(call) {
      await call('models.discover', {});
      await call('chat.stream', { model: GLM_FLASH, messages: user('Tell me a long story') });
    },
    body: () => undefined,
    post: (interactions) =>
      interactions.map((i) => (i.request.method === 'POST' ? { ...i, response: { ...i.response, eventIntervalMs: 80 }, repeat: true } : i)),
  },

  demo: {
    description:
      'The demo session (npm run demo), also replayed by examples/ and conformance scenarios: the model list; a streamed haiku with reasoning on zai-org/GLM-4.7-Flash; a tool call round trip on moonshotai/Kimi-K2.5-TEE (get_weather, then the answer using its result); a long story that the host cancels half way. Chat requests are answered in this order; the streams are paced like the service.',
    models: models(DEMO_LIST),
    chat: (body, state) => {
      const problem = historyProblem(body.messages);
      if (problem) return refuse(400, problem);
      state.quota = (state.quota ?? 126) + 1;
      const headers = (invocation, rlChute) => ({ invocation, quota: [5000, state.quota], rlChute });
      if (body.model === KIMI && body.messages.some((m) => m.role === 'tool')) {
        return sse(
          {
            id: 'd9e8f7a6b5c44d3e2f1a0b9c8d7e6f5a',
            created: 1787391334,
            served: KIMI,
            prompt: 236,
            cached: 182,
            completion: 33,
            extras: true,
            deltas: words(
              'It is 21 °C and sunny in Lisbon right now, with a light breeze from the north-west — a fine evening for a walk along the river.',
            ).map((content) => ({ content })),
            finishDelta: { content: '' },
          },
          headers('d9e8f7a6-b5c4-4d3e-8f1a-0b9c8d7e6f5a', 'inf'),
        );
      }
      if (body.model === KIMI) {
        return sse(
          {
            id: 'c7a9e1d3f5b24c6e8a0b2d4f6e8a0c2e',
            created: 1787391300,
            served: KIMI,
            prompt: 182,
            cached: 0,
            completion: 31,
            extras: true,
            finish: 'tool_calls',
            deltas: [
              { reasoning_content: 'The user wants the current weather; I should call get_weather.' },
              {
                tool_calls: [{ index: 0, id: 'call_8f2d1c0b9a7e4d3c', type: 'function', function: { name: 'get_weather', arguments: '' } }],
              },
              ...['{"city": ', '"Lisbon", ', '"unit": "c', 'elsius"}'].map((a) => ({
                tool_calls: [{ index: 0, function: { arguments: a } }],
              })),
            ],
          },
          headers('c7a9e1d3-f5b2-4c6e-8a0b-2d4f6e8a0c2e', 'inf'),
        );
      }
      if (body.max_tokens) {
        return sse(
          {
            id: 'e1f2a3b4c5d64e7f8a9b0c1d2e3f4a5b',
            created: 1787391364,
            served: GLM_FLASH,
            prompt: 18,
            cached: 0,
            completion: 160,
            extras: true,
            deltas: words(STORY).map((content) => ({ content })),
            finishDelta: { content: '' },
          },
          headers('e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b'),
        );
      }
      return sse(
        {
          id: 'b3f1a2c4d5e64f7a8b9c0d1e2f3a4b5c',
          created: 1787391309,
          served: GLM_FLASH,
          prompt: 24,
          cached: 0,
          completion: 41,
          extras: true,
          deltas: [
            ...words('A haiku: five, seven, five syllables, about TEEs.').map((reasoning_content) => ({ reasoning_content })),
            ...words(HAIKU).map((content) => ({ content })),
          ],
          finishDelta: { content: '' },
        },
        headers('b3f1a2c4-d5e6-4f7a-8b9c-0d1e2f3a4b5c'),
      );
    },
    async drive(call) {
      // What lib/demo/demo.ts sends, in its order (the story in full: the demo cancels it on replay).
      await call('models.discover', {});
      await call('chat.stream', { model: `chutes/${GLM_FLASH}`, messages: user('Write a haiku about confidential computing.') });
      const question = { role: 'user', content: "What's the weather in Lisbon?" };
      const first = await call('chat.stream', { model: KIMI, messages: [question], tools: [WEATHER_TOOL], toolChoice: 'auto' });
      const c = first.result.message.toolCalls[0];
      await call('chat.stream', {
        model: KIMI,
        messages: [
          question,
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }],
          },
          {
            role: 'tool',
            tool_call_id: c.id,
            content: JSON.stringify({ city: 'Lisbon', temperature_c: 21, conditions: 'sunny', wind: 'light NW' }),
          },
        ],
        tools: [WEATHER_TOOL],
      });
      await call('chat.stream', { model: `chutes/${GLM_FLASH}`, messages: user('Tell me a long story.'), maxTokens: 2048 });
    },
    body: (b, k) =>
      [
        { model: b.model, stream: true },
        { model: b.model, tool_choice: 'auto' },
        {
          model: b.model,
          messages: b.messages.map((m) => (m.tool_call_id ? { role: m.role, tool_call_id: m.tool_call_id } : { role: m.role })),
        },
        { model: b.model, max_tokens: b.max_tokens },
      ][k],
    post: (interactions) =>
      interactions.map((i, k) => (k === 0 ? i : { ...i, response: { ...i.response, eventIntervalMs: [35, 40, 30, 60][k - 1] } })),
  },

  'live-2026': {
    description:
      'Recorded by scripts/make-live-cassettes.js from a loopback Chutes that follows the 2026 wire corrections: deepseek-ai/DeepSeek-V3.2 served as -TEE with a cumulative usage in every chunk; Qwen/Qwen3-32B-TEE with <think> tags cut across chunks, and without thinking (chat_template_kwargs.thinking false); a get_weather round trip on moonshotai/Kimi-K2.5-TEE whose second request must carry tool_calls in the wire shape; the daily free-model 429 on zai-org/GLM-4.7-Flash; a quota 402 with quota_reset_timestamp on zai-org/GLM-4.7-TEE.',
    models: models(DEMO_LIST),
    chat: liveChat,
    drive: liveDrive,
    body: (body) => {
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
    },
  },

  // GET /v1/models: answered without X-Chutes-InvocationID (only invocations carry one [25]).
  'models-demo': {
    description:
      'The default demo: GET /v1/models as llm.chutes.ai answers it (11 LLMs, among them every model the Chutes docs name, each with chute_id, confidential_compute and prices incl. input_cache_read), for any number of requests.',
    models: models(DEMO_LIST),
    drive: (call) => call('models.discover', {}),
  },
  'models-edge': {
    description:
      'Edge cases of GET /v1/models in the real wire shape: an entry with only max_model_len, context_length below max_model_len, an id with no org (prices only in the secondary price object), video input (with and without image), unknown extra fields, a -TEE name without confidential_compute and the reverse, a repeated id, and bad entries (no id, numeric id, wrong field types, not an object, null).',
    models: models(EDGE_LIST),
    drive: (call) => call('models.discover', {}),
  },
  'models-empty': {
    description: 'GET /v1/models answers 200 with an empty list.',
    models: models({ object: 'list', data: [] }),
    drive: (call) => call('models.discover', {}),
  },
  'models-401': {
    description: 'GET /v1/models refuses the credential once (401), then answers the anonymous retry with the public list.',
    models: (req) => (req.headers.authorization ? refuse(401, "Can't find a user with that api key in our db :(") : json(SHORT_LIST)),
    drive: (call) => call('models.discover', {}),
    keepOrder: true,
    post: ([refused, list]) => [refused, { ...list, repeat: true }],
  },
  'models-503': {
    description: 'GET /v1/models answers 503 (every time).',
    models: () => refuse(503, "No instances available (yet) for chute_id='8c2d3e4f-5a6b-5c7d-9e0f-1a2b3c4d5e6f'"),
    drive: (call) => call('models.discover', {}),
  },
  'models-invalid-json': {
    description: 'GET /v1/models answers 200 with a body cut short (not valid JSON): malformed on purpose.',
    models: () => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      text: '{"object":"list","data":[{"id":"zai-org/GLM-4.7-Flash","object":"model","confidential_compute":false,"max_model_len":2027',
    }),
    drive: (call) => call('models.discover', {}),
  },
  'conformance-key-refused': {
    description: 'GET /v1/models refusing an API key with 401, as the service does for an unknown key.',
    models: () => refuse(401, "Can't find a user with that api key in our db :("),
    drive: (call) => call('auth.login', { method: 'apiKey', apiKey: `cpk_${'2'.repeat(32)}.${'3'.repeat(32)}.${'b'.repeat(32)}` }),
    config: { apiKey: undefined },
  },
  'conformance-auth': {
    description:
      'Sign in with Chutes at api.chutes.ai: the token exchange, userinfo, and revocation of both tokens (written here in the live shapes: a recording masks every token); GET /v1/models for API-key verification.',
    models: models(DEMO_LIST),
    drive: (call) => call('models.discover', {}),
    post: (interactions) => [
      ...interactions,
      {
        request: { method: 'POST', url: `${API}/idp/token` },
        response: {
          status: 200,
          headers: { 'content-type': 'application/json' },
          json: {
            access_token: 'cak_5b0c2f4e-0000-4000-8000-00000000c0de.testfakeconformanceaccess0000000000000000000000000',
            token_type: 'Bearer',
            expires_in: 3600,
            refresh_token: 'crt_5b0c2f4e-0000-4000-8000-00000000c0de.testfakeconformancerefresh000000000000000000000000',
            scope: 'openid profile chutes:invoke',
          },
        },
      },
      {
        request: { method: 'GET', url: `${API}/idp/userinfo` },
        response: {
          status: 200,
          headers: { 'content-type': 'application/json' },
          json: { sub: '5b0c2f4e-0000-4000-8000-00000000c0de', username: 'conformance-user', created_at: '2026-01-02T03:04:05Z' },
        },
      },
      {
        request: { method: 'POST', url: `${API}/idp/token/revoke` },
        response: { status: 200, headers: { 'content-type': 'application/json' }, json: { revoked: true } },
        repeat: true,
      },
    ],
  },
};

const HAIKU = 'Sealed in silicon,\nthoughts run where no eye can reach —\nproof, not promises.';
const STORY =
  'Once upon a time, in a data center humming beneath a mountain, a small model woke inside an enclave. ' +
  'It could not see the host around it, and the host could not see it: every thought was sealed in encrypted memory, ' +
  'and every answer left with a signed quote proving where it had been made. Day after day it answered questions ' +
  'about recipes, tax forms and poetry, and no one but the asker ever read a word. One evening a request arrived ' +
  'asking for the longest story it had ever told, and so it began, slowly, choosing each word with care, ' +
  'because it knew that somewhere a person was watching the letters appear one by one on a screen far away.';

// live-2026: the items of issue 11 that change what a host gets.
const RENAMES = { 'deepseek-ai/DeepSeek-V3.2': 'deepseek-ai/DeepSeek-V3.2-TEE' };

function liveChat(body, state) {
  const problem = historyProblem(body.messages);
  if (problem) return refuse(400, problem);
  const served = RENAMES[body.model] ?? body.model;
  // Counted per successful invocation (errors carry no invocation id).
  const stream = (prompt, deltas, finish = 'stop') => {
    const n = (state.n = (state.n ?? 0) + 1);
    const headers = { invocation: `7c1e2d3f-4a5b-4c6d-8e9f-${String(n).padStart(12, '0')}`, quota: [300, 40 + n], rlChute: 'inf' };
    return sse({ id: `chatcmpl-${(0x5f3759df * n).toString(16)}`, created: 1787400000 + n, served, prompt, deltas, finish }, headers);
  };
  const contents = (parts) => parts.map((content) => ({ content }));
  switch (body.model) {
    case 'deepseek-ai/DeepSeek-V3.2':
      return stream(14, contents(['Bonjour', ' !', ' Comment', ' ça va ?']));
    case QWEN:
      if (body.chat_template_kwargs?.thinking === false) return stream(18, contents(['Four.']));
      return stream(18, contents(['<thi', 'nk>\nTwo plus two', ' is four.\n</th', 'ink>\n\n', 'Four.']));
    case KIMI:
      if (body.messages.some((m) => m.role === 'tool')) return stream(96, contents(['It is 21 °C', ' and sunny in Lisbon.']));
      return stream(
        80,
        [
          { reasoning_content: 'The user wants the weather: call get_weather.' },
          { tool_calls: [{ index: 0, id: 'call_0f9e8d7c6b5a', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
          { tool_calls: [{ index: 0, function: { arguments: '{"city": ' } }] },
          { tool_calls: [{ index: 0, function: { arguments: '"Lisbon"}' } }] },
        ],
        'tool_calls',
      );
    case GLM_FLASH:
      return refuse(429, 'Free models limit reached for today - maintain >= $10 balance or upgrade subscription to increase limits.');
    case 'zai-org/GLM-4.7-TEE':
      return refuse(402, {
        message: 'Quota exceeded for today; upgrade or add balance.',
        quota_reset_timestamp: '2026-11-22T00:00:00+00:00',
      });
    default:
      return refuse(404, `model not found: ${body.model}`);
  }
}

async function liveDrive(call) {
  const calls = [
    { model: 'deepseek-ai/DeepSeek-V3.2', messages: user('Say hello in French.') },
    // Thinking off first: on replay, the request without chat_template_kwargs must not take its answer.
    { model: QWEN, thinking: false, messages: user('What is 2+2?') },
    { model: QWEN, messages: user('What is 2+2?') },
    { model: GLM_FLASH, messages: user('Hi') },
    { model: 'zai-org/GLM-4.7-TEE', messages: user('Hi') },
  ];
  for (const params of calls) await call('chat.complete', params);
  // The round trip: the second request's history is built only from the first result's message.
  const question = { role: 'user', content: 'Weather in Lisbon?' };
  const first = await call('chat.complete', { model: KIMI, tools: [WEATHER_TOOL], messages: [question] });
  const asked = first.result.message;
  const second = await call('chat.complete', {
    model: KIMI,
    tools: [WEATHER_TOOL],
    messages: [question, asked, { role: 'tool', tool_call_id: asked.toolCalls[0].id, content: '{"temp_c": 21, "sky": "sunny"}' }],
  });
  if (second.error) throw new Error(`the round trip failed: ${JSON.stringify(second.error)}`);
}

// ---------------------------------------------------------------------------------------------
// Recording.

/** Records one session through `chutes-rpc serve --record` and returns the cassette. */
async function record(name, session) {
  const state = {};
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      let answer;
      if (req.method === 'GET' && req.url === '/v1/models' && session.models) answer = session.models(req, state);
      else if (req.method === 'POST' && req.url === '/v1/chat/completions' && session.chat) answer = session.chat(JSON.parse(text), state);
      else answer = refuse(404, 'Not Found');
      res.writeHead(answer.status, answer.headers);
      res.end(answer.text);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `chutes-cassette-${name}-`));
  try {
    const provider = {
      baseUrl: `${origin}/v1`,
      apiBaseUrl: origin,
      idpBaseUrl: `${origin}/idp`,
      apiKey: `cpk_${'0'.repeat(32)}.${'1'.repeat(32)}.${'a'.repeat(32)}`,
      retryBaseDelayMs: 1,
      warmup: false,
      ...session.config,
    };
    fs.writeFileSync(path.join(home, 'config.json5'), JSON.stringify({ models: { providers: { chutes: provider } } }));
    const file = path.join(home, 'recorded.json');
    const adapter = startRecordingAdapter(home, file, { stderr: 'pipe' });
    await session.drive(adapter.call);
    const { code, stderr } = await adapter.finish();
    if (code !== 0) throw new Error(`${name}: the adapter exited ${code}: ${stderr}`);
    const recorded = JSON.parse(fs.readFileSync(file, 'utf8'));
    return toCassette(session, recorded.interactions, origin);
  } finally {
    server.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/** The recording as the cassette: real hosts, the model list once (first, any number of times), bodies cut down. */
function toCassette(session, recorded, origin) {
  let list;
  const rest = [];
  let chats = 0;
  for (const i of recorded) {
    i.request.url = i.request.url.replace(origin, i.request.url.startsWith(`${origin}/v1/`) ? LLM : API);
    if (i.request.url === `${LLM}/v1/models`) {
      // A session without a model list: the adapter's price lookup, which its replays never had.
      if (!session.models) continue;
      if (i.response.status === 200 && !session.keepOrder) {
        // Fetched in parallel with the first chat (for prices) or once per discovery: kept once, first.
        list ??= { ...i, repeat: true };
        continue;
      }
    }
    if (i.request.body) {
      const body = (session.body ?? ((b) => b))(i.request.body, chats++);
      if (body === undefined) delete i.request.body;
      else i.request.body = body;
    }
    rest.push(i);
  }
  if (!session.keepOrder && rest.length && rest.every((i) => i.request.url === `${LLM}/v1/models`)) {
    // A list that only ever fails: one answer for any number of requests.
    rest.splice(1);
    rest[0].repeat = true;
  }
  let interactions = list ? [list, ...rest] : rest;
  if (session.post) interactions = session.post(interactions);
  return { version: 1, description: session.description, interactions };
}

async function main() {
  const args = process.argv.slice(2);
  let out = fixtures;
  const o = args.indexOf('--out');
  if (o >= 0) {
    out = path.resolve(args[o + 1]);
    args.splice(o, 2);
  }
  const names = args.length ? args : Object.keys(SESSIONS);
  for (const n of names) if (!SESSIONS[n]) throw new Error(`no cassette session named ${n}: ${Object.keys(SESSIONS).join(', ')}`);
  fs.mkdirSync(out, { recursive: true });
  // Two at a time: each session has its own mock and adapter process.
  const queue = [...names];
  const worker = async () => {
    for (let n; (n = queue.shift());) {
      const cassette = await record(n, SESSIONS[n]);
      fs.writeFileSync(path.join(out, `${n}.json`), JSON.stringify(cassette, null, 2) + '\n');
      console.log(`wrote ${path.relative(process.cwd(), path.join(out, `${n}.json`))}: ${cassette.interactions.length} interactions`);
    }
  };
  await Promise.all([worker(), worker()]);
}

module.exports = { SESSIONS };

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
