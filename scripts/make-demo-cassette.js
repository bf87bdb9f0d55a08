#!/usr/bin/env node
// Writes fixtures/cassettes/demo.json: the traffic the demo, the examples and several conformance
// scenarios replay. The model list is the recorded one (models-demo.json); the chat streams are
// written in the exact chunk shape the service sends (as the live API sends them), paced like it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dir = path.join(__dirname, '..', 'fixtures', 'cassettes');
const models = JSON.parse(fs.readFileSync(path.join(dir, 'models-demo.json'), 'utf8')).interactions;
const URL = 'https://llm.chutes.ai/v1/chat/completions';
let n = 0;
const hex = (i) => ((0x9e3779b1 * (i + 7)) >>> 0).toString(16).padStart(8, '0');

function headers(invocation) {
  return {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    server: 'nginx',
    'x-chutes-invocationid': invocation,
    'x-chutes-quota-total': '5000',
    'x-chutes-quota-used': String(126 + n),
    'x-chutes-quota-remaining': String(4874 - n),
    'x-chutes-rl-user': '60',
  };
}

function chunk(id, model, delta, finish = null) {
  return {
    id,
    object: 'chat.completion.chunk',
    created: 1787391300 + n,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish, matched_stop: null }],
    usage: null,
    chutes_verification: `${hex(n++)}5e0c1d2b3a4f5e6d7c8b9a0f`,
  };
}

function usage(id, model, prompt, completion, cached = 0) {
  return {
    id,
    object: 'chat.completion.chunk',
    created: 1787391300 + n,
    model,
    choices: [],
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: cached },
    },
    chutes_verification: `${hex(n++)}9f8e7d6c5b4a3928`,
  };
}

function words(text) {
  return text.match(/\S+\s*|\s+/g);
}

function textStream({ id, model, reasoning = '', text, prompt, completion, body, interval }) {
  const sse = [chunk(id, model, { role: 'assistant', content: '' })];
  for (const w of reasoning ? words(reasoning) : []) sse.push(chunk(id, model, { reasoning_content: w }));
  for (const w of words(text)) sse.push(chunk(id, model, { content: w }));
  sse.push(chunk(id, model, { content: '' }, 'stop'), usage(id, model, prompt, completion), '[DONE]');
  return {
    request: { method: 'POST', url: URL, body },
    response: { status: 200, headers: headers(`${id.slice(0, 8)}-demo`), eventIntervalMs: interval, sse },
  };
}

const HAIKU = 'Sealed in silicon,\nthoughts run where no eye can reach —\nproof, not promises.';
const STORY =
  'Once upon a time, in a data center humming beneath a mountain, a small model woke inside an enclave. ' +
  'It could not see the host around it, and the host could not see it: every thought was sealed in encrypted memory, ' +
  'and every answer left with a signed quote proving where it had been made. Day after day it answered questions ' +
  'about recipes, tax forms and poetry, and no one but the asker ever read a word. One evening a request arrived ' +
  'asking for the longest story it had ever told, and so it began, slowly, choosing each word with care, ' +
  'because it knew that somewhere a person was watching the letters appear one by one on a screen far away.';

const toolCallId = 'call_8f2d1c0b9a7e4d3c';
const kimi = 'moonshotai/Kimi-K2.5-TEE';
const toolStream = (() => {
  const id = 'c7a9e1d3f5b24c6e8a0b2d4f6e8a0c2e';
  const sse = [chunk(id, kimi, { role: 'assistant', content: '' })];
  sse.push(chunk(id, kimi, { reasoning_content: 'The user wants the current weather; I should call get_weather.' }));
  sse.push(
    chunk(id, kimi, { tool_calls: [{ index: 0, id: toolCallId, type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
  );
  for (const part of ['{"city": ', '"Lisbon", ', '"unit": "c', 'elsius"}']) {
    sse.push(chunk(id, kimi, { tool_calls: [{ index: 0, function: { arguments: part } }] }));
  }
  sse.push(chunk(id, kimi, {}, 'tool_calls'), usage(id, kimi, 182, 31), '[DONE]');
  return {
    request: { method: 'POST', url: URL, body: { model: kimi, tool_choice: 'auto' } },
    response: { status: 200, headers: headers('c7a9e1d3-demo'), eventIntervalMs: 40, sse },
  };
})();

const cassette = {
  version: 1,
  description:
    'The demo session (npm run demo), also replayed by examples/ and conformance scenarios: the model list; a streamed haiku with reasoning on zai-org/GLM-4.7-Flash; a tool call round trip on moonshotai/Kimi-K2.5-TEE (get_weather, then the answer using its result); a long story that the host cancels half way. Chat requests are answered in this order; the streams are paced like the service.',
  interactions: [
    ...models,
    textStream({
      id: 'b3f1a2c4d5e64f7a8b9c0d1e2f3a4b5c',
      model: 'zai-org/GLM-4.7-Flash',
      reasoning: 'A haiku: five, seven, five syllables, about TEEs.',
      text: HAIKU,
      prompt: 24,
      completion: 41,
      body: { model: 'zai-org/GLM-4.7-Flash', stream: true },
      interval: 35,
    }),
    toolStream,
    textStream({
      id: 'd9e8f7a6b5c44d3e2f1a0b9c8d7e6f5a',
      model: kimi,
      text: 'It is 21 °C and sunny in Lisbon right now, with a light breeze from the north-west — a fine evening for a walk along the river.',
      prompt: 236,
      completion: 33,
      body: { model: kimi, messages: [{ role: 'user' }, { role: 'assistant' }, { role: 'tool', tool_call_id: toolCallId }] },
      interval: 30,
    }),
    textStream({
      id: 'e1f2a3b4c5d64e7f8a9b0c1d2e3f4a5b',
      model: 'zai-org/GLM-4.7-Flash',
      text: STORY,
      prompt: 18,
      completion: 160,
      body: { model: 'zai-org/GLM-4.7-Flash', max_tokens: 2048 },
      interval: 60,
    }),
  ],
};

fs.writeFileSync(path.join(dir, 'demo.json'), JSON.stringify(cassette, null, 2) + '\n');
console.log(`wrote ${path.join(dir, 'demo.json')}: ${cassette.interactions.length} interactions`);
