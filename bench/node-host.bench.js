#!/usr/bin/env node
// A Node host: chat.stream through the spawned adapter (read as NDJSON, every line parsed) against
// the openai npm SDK consuming the same local upstream in this process, on one 200,000-chunk
// stream and on 256 concurrent 200-chunk streams. A bare undici loop (request, split, JSON.parse)
// is printed for scale. Target: the adapter >= 2.5x the SDK on both; medians of interleaved rounds.
'use strict';
const { startUpstream, MODEL } = require('./support/upstream');
const { RpcHost, adapterCommand, KEY } = require('./support/rpc-host');
const { Targets, interleaved, median } = require('./support/targets');

const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const BIG = Number(process.env.BENCH_CHUNKS || 200_000);
const STREAMS = 256;
const SMALL = 200;
const TARGET = 2.5;

async function openaiStream(client, chunks) {
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: 'user', content: 'x' }],
    stream: true,
    max_tokens: chunks,
  });
  let n = 0;
  for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) n++;
  return n;
}

async function undiciStream(url, dispatcher, chunks) {
  const { request } = require('undici');
  const res = await request(`${url}/chat/completions`, {
    dispatcher,
    method: 'POST',
    body: JSON.stringify({ model: MODEL, stream: true, max_tokens: chunks }),
    headers: { 'content-type': 'application/json' },
  });
  const decoder = new TextDecoder();
  let rest = '';
  let n = 0;
  for await (const buf of res.body) {
    const events = (rest + decoder.decode(buf, { stream: true })).split('\n\n');
    rest = events.pop();
    for (const e of events) {
      const data = e.slice(6);
      if (data !== '[DONE]' && JSON.parse(data).choices[0]?.delta?.content) n++;
    }
  }
  return n;
}

function expectCount(what, got, want) {
  if (got !== want) throw new Error(`${what}: ${got} chunks, expected ${want}`);
}

/** Milliseconds for `streams` concurrent streams of `chunks` through `one`. */
async function timed(streams, chunks, one) {
  const t0 = performance.now();
  const counts = await Promise.all(Array.from({ length: streams }, () => one(chunks)));
  counts.forEach((n) => expectCount('stream', n, chunks));
  return performance.now() - t0;
}

async function main() {
  const OpenAI = require('openai').default;
  const { Agent } = require('undici');
  const upstream = await startUpstream();
  upstream.prepare(BIG);
  const client = new OpenAI({ apiKey: KEY, baseURL: upstream.url, maxRetries: 0 });
  const agent = new Agent({ connections: null });
  const host = new RpcHost(adapterCommand(upstream.url));
  const targets = new Targets();
  const arms = {
    'chutes-rpc (host parsing NDJSON)': (n) => host.chat(n),
    [`openai SDK ${require('openai/version').VERSION}`]: (n) => openaiStream(client, n),
    'bare undici loop': (n) => undiciStream(upstream.url, agent, n),
  };
  const [ours, sdk] = Object.keys(arms);
  try {
    for (const one of Object.values(arms)) await timed(STREAMS, SMALL, one);
    for (const [label, streams, chunks] of [
      [`one stream of ${BIG.toLocaleString('en')} chunks`, 1, BIG],
      [`${STREAMS} concurrent streams of ${SMALL} chunks`, STREAMS, SMALL],
    ]) {
      const results = await interleaved(
        ROUNDS,
        Object.fromEntries(Object.entries(arms).map(([name, one]) => [name, () => timed(streams, chunks, one)])),
      );
      console.log(`${label}, chunks/s, median of ${ROUNDS} interleaved rounds:`);
      for (const [name, ms] of Object.entries(results)) {
        console.log(
          `  ${name.padEnd(34)} ${Math.round((streams * chunks * 1000) / median(ms))
            .toLocaleString('en')
            .padStart(10)}`,
        );
      }
      targets.atLeast(
        `${streams === 1 ? 'one stream' : `${STREAMS} streams`}: chutes-rpc / openai SDK`,
        median(results[sdk]) / median(results[ours]),
        TARGET,
      );
    }
    if (host.problems.length) targets.fail('delta order', new Error(host.problems.slice(0, 3).join('; ')));
  } finally {
    await host.stop();
    await agent.close();
    await upstream.close();
  }
  targets.finish();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
