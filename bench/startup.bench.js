#!/usr/bin/env node
// Start-up, with NODE_EXTRA_CA_CERTS unset for every arm (a machine that sets it slows every node
// start alike, bare node included, which would flatter the ratio):
//   - spawn to the `initialize` reply, against spawning a bare `node -e 0` to its exit: <= 1.4x
//   - spawn to the reply of a first chat.stream (sent with initialize) against a local upstream:
//     at most 30 ms more than initialize alone. The bench's config turns client-side pacing off; the
//     same with pacing on (the default; a budget no round reaches) is printed beside it, untargeted,
//     and so is the first chat's time from the initialize reply within each spawn (the two arms'
//     medians each carry the noise of a spawn; the difference within one spawn does not), and so
//     are the page faults it adds to initialize's, with what this machine charges for one.
//   - resident memory right after initialize: <= 50 MiB
//   - `chutes-rpc chat` (the shell tool), spawn to exit: printed, untargeted.
//   - a first chat over https (the stand-in behind a self-signed certificate, by the name localhost
//     as the service is reached by name), from request to reply, sent at the initialize reply and
//     sent once the preload has readied TLS: printed, untargeted.
//   - the single executable (dist/chutes-rpc, where `npm run build:binary` made one) to initialize,
//     against node running bin/chutes-rpc (which loads dist/serve.bundle.js): <= 1.1x, else skipped.
//     `npm run build` empties dist/, so build the executable after it; one built from older sources
//     is brought up to date first (scripts/build-binary.js reuses it when it is current).
// Arms alternate within each round; medians of the rounds.
'use strict';
const dns = require('node:dns');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');
const { startUpstream, MODEL } = require('./support/upstream');
const { adapterHome, benchEnv, BIN, KEY, ROOT } = require('./support/rpc-host');
const { Targets, interleaved, median } = require('./support/targets');
const { firstTouchMicros } = require('./support/first-touch');
const { selfSignedCertificate } = require('./support/self-signed');

const ROUNDS = Number(process.env.BENCH_ROUNDS || 21);
const SEA = path.join(ROOT, 'dist', 'chutes-rpc');

const INITIALIZE = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n';
const CHAT = `{"jsonrpc":"2.0","id":2,"method":"chat.stream","params":{"model":"chutes/${MODEL}","messages":[{"role":"user","content":"x"}],"maxTokens":20}}\n`;

const since = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

/** How long after the initialize reply a chat finds the preload done (lib/methods/preload.ts waits 200 ms). */
const AFTER_PRELOAD_MS = 500;
const HTTPS_ROUNDS = Number(process.env.BENCH_ROUNDS || 11);

/** Spawns `file args` to its exit (code 0), in ms. */
function toExit(file, args, env) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(file, args, { stdio: 'ignore', env });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(since(t0)) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

/**
 * The minor page faults of a process's main thread so far (those its replies wait on; V8's and
 * libuv's helper threads fault beside it), from /proc; undefined where it is missing.
 */
function minorFaults(pid) {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[7]);
  } catch {
    return undefined;
  }
}

/**
 * Spawns `file args`, sends `input`, and resolves with the ms to the reply with id `untilId`
 * (`ms`), to the reply with id 1 (`firstMs`), the page faults by then (`faults`), and the RSS then,
 * when asked; then ends the process.
 */
function timeToReply(file, args, env, input, untilId, measureRss = false) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(file, args, { stdio: ['pipe', 'pipe', 'inherit'], env });
    c.on('error', reject);
    let out = '';
    let done = false;
    let firstMs;
    c.stdout.setEncoding('utf8');
    c.stdout.on('data', (d) => {
      out += d;
      if (done) return;
      for (const line of out.split('\n').slice(0, -1)) {
        const m = JSON.parse(line);
        if (m.id === 1) firstMs ??= since(t0);
        if (m.id !== untilId) continue;
        const ms = since(t0);
        done = true;
        if (m.error) return reject(new Error(`reply ${untilId}: ${JSON.stringify(m.error)}`));
        const faults = minorFaults(c.pid);
        let rss;
        if (measureRss) rss = Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${c.pid}/status`, 'utf8'))[1]) * 1024;
        c.stdin.end();
        c.on('exit', () => resolve({ ms, firstMs, faults, rss }));
        return;
      }
    });
    c.stdin.write(input);
  });
}

/**
 * Spawns the adapter, sends initialize, then after `pauseMs` one chat; resolves with the ms from
 * the chat's request to its reply.
 */
function chatAfterInitialize(env, pauseMs) {
  return new Promise((resolve, reject) => {
    // stderr ignored: node warns there that NODE_TLS_REJECT_UNAUTHORIZED is 0.
    const c = spawn(process.execPath, [BIN, 'serve'], { stdio: ['pipe', 'pipe', 'ignore'], env });
    c.on('error', reject);
    let out = '';
    let t0;
    let ms;
    c.stdout.setEncoding('utf8');
    c.stdout.on('data', (d) => {
      out += d;
      const lines = out.split('\n');
      out = lines.pop();
      for (const line of lines) {
        const m = JSON.parse(line);
        if (m.error) return reject(new Error(`reply ${m.id}: ${JSON.stringify(m.error)}`));
        if (m.id === 1) {
          setTimeout(() => {
            t0 = process.hrtime.bigint();
            c.stdin.write(CHAT);
          }, pauseMs);
        } else if (m.id === 2) {
          ms = since(t0);
          c.stdin.end();
        }
      }
    });
    c.on('exit', () => (ms === undefined ? reject(new Error('the adapter exited before the chat reply')) : resolve(ms)));
    c.stdin.write(INITIALIZE);
  });
}

/**
 * The stand-in's URL by the host name `localhost` where that resolves to 127.0.0.1 first, as the
 * service is reached by name (a first connection to a name runs what one to an address skips: the
 * lookup, and node's checks of whether the name is an address); else the URL as it is.
 */
async function byHostName(url) {
  const first = await dns.promises.lookup('localhost').catch(() => undefined);
  return first?.address === '127.0.0.1'
    ? { url: url.replace('//127.0.0.1:', '//localhost:'), host: 'localhost' }
    : { url, host: '127.0.0.1' };
}

/**
 * A first chat over https, at the initialize reply and once the preload has run (it readies
 * node:tls and the root certificates: ChutesContext.prepareUpstream). The adapter accepts the
 * stand-in's self-signed certificate through NODE_TLS_REJECT_UNAUTHORIZED=0; NODE_EXTRA_CA_CERTS,
 * the other way, would have node load the root certificates at start-up.
 */
async function firstChatOverHttps() {
  const tls = selfSignedCertificate();
  if (tls.reason) return console.log(`  (a first chat over https: skipped: ${tls.reason})`);
  const upstream = await startUpstream({ tls });
  try {
    const { url, host } = await byHostName(upstream.url);
    const env = benchEnv({ CHUTES_RPC_HOME: adapterHome(url), CHUTES_API_KEY: KEY, NODE_TLS_REJECT_UNAUTHORIZED: '0' });
    const results = await interleaved(HTTPS_ROUNDS, {
      now: () => chatAfterInitialize(env, 0),
      later: () => chatAfterInitialize(env, AFTER_PRELOAD_MS),
    });
    console.log(
      `  (a first chat over https to ${host}, request to reply: ${median(results.now).toFixed(1)} ms sent at the initialize reply, ` +
        `${median(results.later).toFixed(1)} ms sent ${AFTER_PRELOAD_MS} ms later, once the preload has readied TLS; no target)`,
    );
  } finally {
    await upstream.close();
  }
}

async function main() {
  const upstream = await startUpstream();
  const env = benchEnv({ CHUTES_RPC_HOME: adapterHome(upstream.url), CHUTES_API_KEY: KEY });
  const pacedEnv = benchEnv({ CHUTES_RPC_HOME: adapterHome(upstream.url, { requestsPerMinute: 10_000 }), CHUTES_API_KEY: KEY });
  const targets = new Targets();
  const rss = [];
  const chatAfterReply = [];
  const faults = { initialize: [], chat: [] };
  const arms = {
    'node -e 0': () => toExit(process.execPath, ['-e', '0'], benchEnv()),
    initialize: async () => {
      const r = await timeToReply(process.execPath, [BIN, 'serve'], env, INITIALIZE, 1, true);
      rss.push(r.rss);
      faults.initialize.push(r.faults);
      return r.ms;
    },
    'initialize + first chat': async () => {
      const r = await timeToReply(process.execPath, [BIN, 'serve'], env, INITIALIZE + CHAT, 2);
      chatAfterReply.push(r.ms - r.firstMs);
      faults.chat.push(r.faults);
      return r.ms;
    },
    'initialize + first chat, paced': async () => (await timeToReply(process.execPath, [BIN, 'serve'], pacedEnv, INITIALIZE + CHAT, 2)).ms,
    'chutes-rpc chat (shell tool), to exit': () =>
      toExit(process.execPath, [BIN, 'chat', '--model', `chutes/${MODEL}`, '--max-tokens', '20', 'x'], env),
  };
  const sea = fs.existsSync(SEA);
  if (sea) {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-binary.js')], { stdio: ['ignore', 'ignore', 'inherit'] });
    arms['dist/chutes-rpc (single executable)'] = async () => (await timeToReply(SEA, ['serve'], env, INITIALIZE, 1)).ms;
  }
  for (const arm of Object.values(arms)) await arm();
  const results = await interleaved(ROUNDS, arms);
  console.log(`spawn to reply, NODE_EXTRA_CA_CERTS unset, median of ${ROUNDS} interleaved rounds:`);
  for (const [name, xs] of Object.entries(results)) console.log(`  ${name.padEnd(36)} ${median(xs).toFixed(1).padStart(6)} ms`);
  const bare = median(results['node -e 0']);
  const init = median(results.initialize);
  targets.atMost('initialize / bare node', init / bare, 1.4);
  targets.atMost('first chat - initialize', median(results['initialize + first chat']) - init, 30, ' ms', 1);
  console.log(
    `  (the same within each spawn, from its initialize reply to its chat reply: ${median(chatAfterReply).toFixed(1)} ms; no target)`,
  );
  console.log(
    `  (with client-side pacing on, as by default: ${(median(results['initialize + first chat, paced']) - init).toFixed(1)} ms; no target)`,
  );
  console.log(
    `  (chutes-rpc chat, the shell tool, spawn to exit: ${median(results['chutes-rpc chat (shell tool), to exit']).toFixed(1)} ms; no target)`,
  );
  const touch = firstTouchMicros(benchEnv());
  if (touch !== undefined) {
    console.log(
      `  (this machine: a page of fresh memory costs ${touch.toFixed(1)} us at its first touch; bare node ${bare.toFixed(1)} ms)`,
    );
    const chatFaults = Math.round(median(faults.chat) - median(faults.initialize));
    if (Number.isFinite(chatFaults)) {
      console.log(
        `  (main-thread page faults of the first chat beyond initialize's: ${chatFaults}, ~${((chatFaults * touch) / 1000).toFixed(1)} ms of its time at that cost)`,
      );
    }
  }
  await firstChatOverHttps();
  targets.atMost('RSS after initialize', median(rss) / 1048576, 50, ' MiB', 1);
  if (sea) {
    targets.atMost('single executable / node bundle', median(results['dist/chutes-rpc (single executable)']) / init, 1.1);
  } else {
    targets.skipped('single executable / node bundle', `${path.relative(ROOT, SEA)} was not built (npm run build:binary makes it)`);
  }
  await upstream.close();
  targets.finish();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
