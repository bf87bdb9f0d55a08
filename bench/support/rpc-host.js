// A host as a program would write one: spawns an adapter, sends NDJSON requests, reads every line,
// parses it, and checks that each stream's deltas arrive with seq 0, 1, 2, ... before its result.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { MODEL } = require('./upstream');

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'chutes-rpc');
const KEY = 'cpk_bench_fake_key';

/**
 * A CHUTES_RPC_HOME whose config points at the local upstream, with client-side pacing off (a bench
 * sends far more than a minute's budget) unless `rateLimit` says otherwise.
 */
function adapterHome(upstreamUrl, rateLimit = { requestsPerMinute: 0 }) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-bench-'));
  fs.writeFileSync(
    path.join(home, 'config.json5'),
    JSON.stringify({ models: { providers: { chutes: { baseUrl: upstreamUrl, rateLimit } } } }),
  );
  return home;
}

/** The environment of every spawned node: without the machine's extra CA bundle, which slows every start. */
function benchEnv(extra) {
  const env = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** The command that runs chutes-rpc serve against `upstreamUrl`. */
function adapterCommand(upstreamUrl) {
  return {
    file: process.execPath,
    args: [BIN, 'serve'],
    env: benchEnv({ CHUTES_RPC_HOME: adapterHome(upstreamUrl), CHUTES_API_KEY: KEY }),
  };
}

/** The command that runs the minimal adapter (the ceiling) against `upstreamUrl`. */
function minimalCommand(upstreamUrl) {
  return {
    file: process.execPath,
    args: [path.join(__dirname, '..', 'minimal-adapter.js')],
    env: benchEnv({ UPSTREAM_URL: upstreamUrl }),
  };
}

class RpcHost {
  constructor({ file, args, env }) {
    this.child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'inherit'] });
    this.waiters = new Map();
    this.seqs = new Map();
    this.problems = [];
    this.nextId = 1;
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
    let rest = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text) => {
      const lines = (rest + text).split('\n');
      rest = lines.pop();
      for (const line of lines) this.message(JSON.parse(line));
    });
  }

  message(m) {
    if (m.method === 'chat.delta') {
      const seen = this.seqs.get(m.params.streamId) ?? 0;
      if (m.params.seq !== seen) this.problems.push(`stream ${m.params.streamId}: seq ${m.params.seq}, expected ${seen}`);
      this.seqs.set(m.params.streamId, seen + 1);
    } else if (m.id !== undefined) {
      this.waiters.get(m.id)?.(m);
    }
  }

  request(method, params) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiters.set(id, (m) => {
        this.waiters.delete(id);
        if (m.error) reject(new Error(`${method}: ${m.error.code} ${m.error.message}`));
        else resolve(m.result);
      });
      this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  /** One chat.stream of `chunks` content chunks; resolves with the number of deltas it got. */
  async chat(chunks) {
    const id = this.nextId;
    await this.request('chat.stream', { model: `chutes/${MODEL}`, messages: [{ role: 'user', content: 'x' }], maxTokens: chunks });
    const n = this.seqs.get(String(id)) ?? 0;
    this.seqs.delete(String(id));
    if (n !== chunks) throw new Error(`stream ${id}: ${n} deltas, expected ${chunks}`);
    return n;
  }

  /** CPU time of the whole process (every thread) so far, in ms, to the nanosecond where the kernel says it. */
  cpuMs() {
    const dir = `/proc/${this.child.pid}/task`;
    let ns = 0;
    for (const t of fs.readdirSync(dir)) {
      try {
        ns += Number(fs.readFileSync(`${dir}/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return ns / 1e6;
  }

  /** Resident memory now (VmRSS) and at its peak (VmHWM), in bytes. */
  memory() {
    const status = fs.readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)[1]) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  }

  stop() {
    this.child.stdin.end();
    return this.exited;
  }
}

module.exports = { RpcHost, adapterCommand, minimalCommand, adapterHome, benchEnv, BIN, KEY, ROOT };
