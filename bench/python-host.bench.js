#!/usr/bin/env node
// A Python host: chat.stream through the spawned adapter (bench/python/adapter_host.py) against
// what a Python program would use instead, on the same local upstream: bare async httpx
// (httpx_host.py) and the official openai SDK (openai_host.py), on one 200,000-chunk stream and
// on 256 concurrent 200-chunk streams. Targets: the adapter >= 10x the openai SDK on both;
// >= 1.5x bare httpx at 256 streams and >= 0.9x on one stream. Medians of interleaved rounds.
//
// Python: the bench's own venv (.tmp/bench-venv), made with the machine's python3 (PATH first, then
// /usr/bin/python3) the first time, with httpx and openai installed into it by pip when missing;
// each step is printed. A comparison whose package cannot be had here (no python3, no venv module,
// no package index) is skipped with the reason, never failed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync, execFile } = require('node:child_process');
const { startUpstream } = require('./support/upstream');
const { adapterHome, benchEnv, BIN, KEY, ROOT } = require('./support/rpc-host');
const { Targets, interleaved, median } = require('./support/targets');

const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const BIG = Number(process.env.BENCH_CHUNKS || 200_000);
const SCRIPTS = path.join(__dirname, 'python');
const VENV = path.join(ROOT, '.tmp', 'bench-venv');
const VENV_PYTHON = path.join(VENV, 'bin', 'python');

/** The last line a failed command wrote, as the reason it failed. */
function failure(r, what) {
  const why = `${r.stderr ?? ''}${r.error?.message ?? ''}`.trim().split('\n').filter(Boolean).pop();
  return why || `${what} exited ${r.status}`;
}

function has(python, module) {
  return spawnSync(python, ['-c', `import ${module}`], { env: benchEnv(), stdio: 'ignore' }).status === 0;
}

/** Installs `pkg` into the venv with pip, quickly failing when the package index cannot be reached; the reason when it failed. */
function pipInstall(pkg) {
  console.log(`  installing ${pkg} into ${path.relative(ROOT, VENV)} with pip`);
  const r = spawnSync(
    VENV_PYTHON,
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '0', '--timeout', '5', pkg],
    { env: benchEnv(), encoding: 'utf8', timeout: 300_000 },
  );
  return r.status === 0 && has(VENV_PYTHON, pkg) ? undefined : failure(r, 'pip');
}

/** The venv, made when there is none (or its python no longer runs); the reason when it cannot be. */
function makeVenv() {
  if (spawnSync(VENV_PYTHON, ['-V']).status === 0) return undefined;
  const base = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-V']).status === 0);
  if (!base) return 'no python3 on this machine';
  console.log(`  making a venv for the Python hosts: ${base} -m venv ${path.relative(ROOT, VENV)}`);
  fs.rmSync(VENV, { recursive: true, force: true });
  const r = spawnSync(base, ['-m', 'venv', VENV], { encoding: 'utf8', timeout: 120_000 });
  if (r.status === 0 && spawnSync(VENV_PYTHON, ['-V']).status === 0) return undefined;
  fs.rmSync(VENV, { recursive: true, force: true });
  return `${base} -m venv failed (${failure(r, 'venv')})`;
}

function runPython(python, script, args, env) {
  return new Promise((resolve, reject) => {
    execFile(python, [path.join(SCRIPTS, script), ...args.map(String)], { env, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${script}: ${stderr.trim() || err.message}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()).seconds);
    });
  });
}

async function main() {
  const targets = new Targets();
  const noVenv = makeVenv();
  const httpxReason = noVenv ?? (has(VENV_PYTHON, 'httpx') ? undefined : pipInstall('httpx'));
  if (httpxReason) {
    for (const label of ['vs bare httpx', 'vs the openai SDK']) targets.skipped(label, `no Python with httpx: ${httpxReason}`);
    targets.finish();
  }
  const python = VENV_PYTHON;
  let openaiReason = has(python, 'openai') ? undefined : pipInstall('openai');
  if (openaiReason) openaiReason = `the openai Python SDK could not be installed (${openaiReason})`;
  const versions = spawnSync(
    python,
    [
      '-c',
      "import sys, importlib.util as u, importlib.metadata as m; print(sys.version.split()[0], *(m.version(p) if u.find_spec(p) else '-' for p in ('httpx', 'openai')))",
    ],
    { env: benchEnv(), encoding: 'utf8' },
  )
    .stdout.trim()
    .split(' ');
  console.log(`python ${versions[0]} (${path.relative(ROOT, python)}), httpx ${versions[1]}, openai ${versions[2]}`);

  const upstream = await startUpstream();
  upstream.prepare(BIG);
  const adapterEnv = { ...benchEnv(), CHUTES_RPC_HOME: adapterHome(upstream.url), CHUTES_API_KEY: KEY };
  try {
    for (const [label, streams, chunks, httpxTarget] of [
      ['one stream', 1, BIG, 0.9],
      ['256 streams', 256, 200, 1.5],
    ]) {
      const arms = {
        'python host via chutes-rpc': () => runPython(python, 'adapter_host.py', [streams, chunks, process.execPath, BIN], adapterEnv),
        'bare async httpx': () => runPython(python, 'httpx_host.py', [streams, chunks, upstream.url], benchEnv()),
      };
      if (!openaiReason) arms['openai SDK'] = () => runPython(python, 'openai_host.py', [streams, chunks, upstream.url], benchEnv());
      const results = await interleaved(ROUNDS, arms);
      console.log(`${label} (${streams} x ${chunks.toLocaleString('en')} chunks), chunks/s, median of ${ROUNDS} interleaved rounds:`);
      for (const [name, s] of Object.entries(results)) {
        console.log(
          `  ${name.padEnd(28)} ${Math.round((streams * chunks) / median(s))
            .toLocaleString('en')
            .padStart(10)}`,
        );
      }
      const ours = median(results['python host via chutes-rpc']);
      targets.atLeast(`${label}: via chutes-rpc / bare httpx`, median(results['bare async httpx']) / ours, httpxTarget);
      if (openaiReason) targets.skipped(`${label}: via chutes-rpc / openai SDK (target >= 10x)`, openaiReason);
      else targets.atLeast(`${label}: via chutes-rpc / openai SDK`, median(results['openai SDK']) / ours, 10);
    }
  } finally {
    await upstream.close();
  }
  targets.finish();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
