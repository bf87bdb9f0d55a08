#!/usr/bin/env node
// Memory under many open streams, measured from /proc on the spawned adapter:
//   - per held stream: 1024 chat.streams whose upstream sent its first delta and then holds the
//     response open; (RSS then - RSS before) / 1024 <= 32 KiB, the adapter warmed up first
//   - a burst: 4096 held streams released at once (each then gets 200 chunks as fast as the
//     socket takes them) while the host reads; the adapter's peak RSS (VmHWM) < 400 MB
// Every stream must complete with every delta, in order.
'use strict';
const { startUpstream } = require('./support/upstream');
const { RpcHost, adapterCommand } = require('./support/rpc-host');
const { Targets } = require('./support/targets');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Submits `count` streams of `chunks` chunks to be held; resolves once each has its first delta, with their completions. */
async function hold(host, upstream, count, chunks) {
  upstream.mode = 'held';
  const firstHeld = upstream.held();
  const done = Array.from({ length: count }, () => host.chat(chunks));
  for (let waited = 0; upstream.held() - firstHeld < count || host.seqs.size < count; waited += 50) {
    if (waited > 120_000) throw new Error(`only ${upstream.held() - firstHeld} of ${count} streams held`);
    await sleep(50);
  }
  return done;
}

/** RSS once it stopped moving (the allocations of a burst settle). */
async function settledRss(host) {
  let last = host.memory().rss;
  for (let i = 0; i < 20; i++) {
    await sleep(200);
    const now = host.memory().rss;
    if (Math.abs(now - last) < 256 * 1024) return now;
    last = now;
  }
  return last;
}

async function main() {
  const upstream = await startUpstream();
  const targets = new Targets();
  try {
    let host = new RpcHost(adapterCommand(upstream.url));
    await host.request('initialize', {});
    // Warmed to its steady state first (V8 grows its young generation under load once, for good):
    // what is left is what each held stream costs.
    upstream.mode = 'burst';
    await host.chat(20_000);
    await Promise.all(Array.from({ length: 256 }, () => host.chat(200)));
    const before = await settledRss(host);
    const held = await hold(host, upstream, 1024, 20);
    const during = await settledRss(host);
    upstream.release();
    await Promise.all(held);
    console.log(`1024 held streams: RSS ${(before / 1048576).toFixed(1)} MiB before, ${(during / 1048576).toFixed(1)} MiB held`);
    targets.atMost('memory per held stream', (during - before) / 1024 / 1024, 32, ' KiB', 1);
    await host.stop();

    host = new RpcHost(adapterCommand(upstream.url));
    await host.request('initialize', {});
    const burst = await hold(host, upstream, 4096, 200);
    const heldRss = host.memory().rss;
    upstream.release();
    await Promise.all(burst);
    const { peak } = host.memory();
    console.log(
      `4096 held streams released at once: RSS ${(heldRss / 1048576).toFixed(1)} MiB held, peak ${(peak / 1048576).toFixed(1)} MiB`,
    );
    targets.atMost('peak RSS releasing 4096 streams', peak / 1e6, 400, ' MB', 0);
    if (host.problems.length) targets.fail('delta order', new Error(host.problems.slice(0, 3).join('; ')));
    await host.stop();
  } finally {
    await upstream.close();
  }
  targets.finish();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
