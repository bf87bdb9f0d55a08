#!/usr/bin/env node
// Adapter CPU per delta: chutes-rpc against the minimal adapter (bench/minimal-adapter.js, the
// ceiling of a process hop), both spawned and fed by the same local upstream, read by the same host.
// CPU is the whole child process's (every thread, from /proc), divided by the deltas it sent.
// Workloads: one long stream, many short concurrent ones, and many slow (paced) ones.
// Target: chutes-rpc <= 1.10x the minimal adapter on each; medians of interleaved rounds.
'use strict';
const { startUpstream, PACE_CHUNKS, PACE_MS } = require('./support/upstream');
const { RpcHost, adapterCommand, minimalCommand } = require('./support/rpc-host');
const { Targets, interleaved, median } = require('./support/targets');

const ROUNDS = Number(process.env.BENCH_ROUNDS || 5);
const BIG = Number(process.env.BENCH_CHUNKS || 200_000);
const TARGET = 1.1;

const WORKLOADS = [
  { name: `one stream of ${BIG.toLocaleString('en')} chunks`, mode: 'burst', streams: 1, chunks: BIG, short: 'one stream' },
  { name: '256 concurrent streams of 200 chunks', mode: 'burst', streams: 256, chunks: 200, short: '256 streams' },
  {
    name: `1024 paced streams (${PACE_CHUNKS} chunks / ${PACE_MS} ms each, 100 chunks)`,
    mode: 'paced',
    streams: 1024,
    chunks: 100,
    short: '1024 paced streams',
  },
];

/** Runs the workload once on `host`; returns its CPU per delta in microseconds. */
async function cpuPerDelta(host, upstream, w) {
  upstream.mode = w.mode;
  const before = host.cpuMs();
  const counts = await Promise.all(Array.from({ length: w.streams }, () => host.chat(w.chunks)));
  const deltas = counts.reduce((a, b) => a + b, 0);
  return ((host.cpuMs() - before) * 1000) / deltas;
}

async function main() {
  const upstream = await startUpstream();
  const hosts = { 'chutes-rpc': new RpcHost(adapterCommand(upstream.url)), minimal: new RpcHost(minimalCommand(upstream.url)) };
  const targets = new Targets();
  try {
    for (const host of Object.values(hosts)) {
      upstream.mode = 'burst';
      await host.chat(2000);
      await Promise.all(Array.from({ length: 256 }, () => host.chat(200)));
    }
    for (const w of WORKLOADS) {
      console.log(`${w.name}, CPU per delta (us), median of ${ROUNDS} interleaved rounds:`);
      const results = await interleaved(
        ROUNDS,
        Object.fromEntries(Object.entries(hosts).map(([name, host]) => [name, () => cpuPerDelta(host, upstream, w)])),
      );
      for (const [name, xs] of Object.entries(results)) {
        console.log(`  ${name.padEnd(11)} ${median(xs).toFixed(2).padStart(6)} us   (rounds: ${xs.map((x) => x.toFixed(2)).join(' ')})`);
      }
      targets.atMost(`${w.short}: chutes-rpc / minimal adapter`, median(results['chutes-rpc']) / median(results.minimal), TARGET);
    }
    for (const [name, host] of Object.entries(hosts)) {
      if (host.problems.length) targets.fail(`${name} delta order`, new Error(host.problems.slice(0, 3).join('; ')));
    }
  } finally {
    await Promise.all(Object.values(hosts).map((h) => h.stop()));
    await upstream.close();
  }
  targets.finish();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
