#!/usr/bin/env node
// A Python host: chat.stream through the spawned adapter (bench/python/adapter_host.py) against
// what a Python program would use instead, on the same local upstream: bare async httpx
// (httpx_host.py) and the official openai SDK (openai_host.py), on one 200,000-chunk stream and
// on 256 concurrent 200-chunk streams. Targets: the adapter >= 10x the openai SDK on both;
// >= 1.5x bare httpx at 256 streams and >= 0.9x on one stream. Medians of interleaved rounds.
//
// Python packages: a python3 that has httpx is used (PATH first, then /usr/bin/python3); missing
// ones are installed when that can be done here (pip into .tmp/bench-python; httpx from the
// system's packages as root), and a comparison whose package is still missing is skipped with the
// reason, never failed.
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
const SITE = path.join(ROOT, '.tmp', 'bench-python');

const pythonEnv = () => ({ ...benchEnv(), PYTHONPATH: SITE });

function has(python, module) {
  return spawnSync(python, ['-c', `import ${module}`], { env: pythonEnv(), stdio: 'ignore' }).status === 0;
}

/** Installs `pkg` for `python` with pip, quickly failing when the package index cannot be reached. */
function pipInstall(python, pkg) {
  console.log(`  installing ${pkg} for ${python} with pip into ${path.relative(ROOT, SITE)}`);
  const r = spawnSync(
    python,
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '0', '--timeout', '5', '--target', SITE, pkg],
    { env: pythonEnv(), encoding: 'utf8', timeout: 120_000 },
  );
  const why = `${r.stderr ?? ''}${r.error?.message ?? ''}`.trim().split('\n').filter(Boolean).pop();
  return r.status === 0 ? undefined : why || `pip exited ${r.status}`;
}

/** A python3 with httpx, installing it where possible; or the reason there is none. */
function findPython() {
  const candidates = [...new Set(['python3', '/usr/bin/python3'])].filter((p) => spawnSync(p, ['-V']).status === 0);
  if (candidates.length === 0) return { reason: 'no python3 on this machine' };
  const ready = candidates.find((p) => has(p, 'httpx'));
  if (ready) return { python: ready };
  const pipFailure = pipInstall(candidates[0], 'httpx');
  if (!pipFailure && has(candidates[0], 'httpx')) return { python: candidates[0] };
  if (process.getuid?.() === 0 && fs.existsSync('/usr/bin/apt-get') && fs.existsSync('/usr/bin/python3')) {
    console.log('  installing python3-httpx with apt-get');
    spawnSync('apt-get', ['install', '-y', '-qq', 'python3-httpx'], { stdio: 'ignore', timeout: 300_000 });
    if (has('/usr/bin/python3', 'httpx')) return { python: '/usr/bin/python3' };
  }
  return { reason: `httpx is not installed and could not be installed (pip: ${pipFailure})` };
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
  const found = findPython();
  if (!found.python) {
    for (const label of ['vs bare httpx', 'vs the openai SDK']) targets.skipped(label, found.reason);
    targets.finish();
  }
  const { python } = found;
  let openaiReason;
  if (!has(python, 'openai')) {
    const failure = pipInstall(python, 'openai');
    if (failure || !has(python, 'openai'))
      openaiReason = `the openai Python SDK is not installed and pip could not install it (${failure ?? 'import failed'})`;
  }
  const version = spawnSync(python, ['-c', 'import sys, httpx; print(sys.version.split()[0], httpx.__version__)'], {
    env: pythonEnv(),
    encoding: 'utf8',
  })
    .stdout.trim()
    .split(' ');
  console.log(`python ${version[0]} (${python}), httpx ${version[1]}`);

  const upstream = await startUpstream();
  const adapterEnv = { ...pythonEnv(), CHUTES_RPC_HOME: adapterHome(upstream.url), CHUTES_API_KEY: KEY };
  try {
    for (const [label, streams, chunks, httpxTarget] of [
      ['one stream', 1, BIG, 0.9],
      ['256 streams', 256, 200, 1.5],
    ]) {
      const arms = {
        'python host via chutes-rpc': () => runPython(python, 'adapter_host.py', [streams, chunks, process.execPath, BIN], adapterEnv),
        'bare async httpx': () => runPython(python, 'httpx_host.py', [streams, chunks, upstream.url], pythonEnv()),
      };
      if (!openaiReason) arms['openai SDK'] = () => runPython(python, 'openai_host.py', [streams, chunks, upstream.url], pythonEnv());
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
