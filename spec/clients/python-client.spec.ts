import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanEnv, ROOT } from '../helpers/rpc-process';
import { adapterLifetimeAfterHostKilled } from './killed-host';
import { runProgram } from './run-program';

// The Python client's own suite (clients/python/tests, unittest) against this repository's adapter
// on recorded cassettes: Client and AsyncClient, each over NDJSON and LSP, in four processes at
// once (the cassettes pace their streams like the service, so the runs mostly wait).
const PACKAGE = path.join(ROOT, 'clients', 'python');
const hasPython = spawnSync('python3', ['--version']).status === 0;
const hasPip = hasPython && spawnSync('python3', ['-m', 'pip', '--version']).status === 0;
const pyIt = hasPython ? it : it.skip;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-python-client-'));
const site = path.join(work, 'site');
let installed = false;

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe(`Python client (clients/python)${hasPython ? '' : ' (skipped: no python3 on PATH)'}`, () => {
  (hasPip ? it : it.skip)(
    `installs offline with pip install ./clients/python${hasPip ? '' : ' (skipped: python3 has no pip; the suite then runs from the sources)'}`,
    async () => {
      // --no-index: nothing may come from a package index; the in-tree build backend needs nothing.
      const run = await runProgram(
        'python3',
        ['-m', 'pip', 'install', '--no-index', '--no-cache-dir', '--disable-pip-version-check', '--target', site, PACKAGE],
        {
          env: { ...process.env, PIP_NO_INPUT: '1' },
        },
      );
      expect({ code: run.code, output: run.code === 0 ? '' : run.output }).toEqual({ code: 0, output: '' });
      expect(fs.existsSync(path.join(site, 'chutes_rpc', 'types.py'))).toBe(true);
      installed = true;
    },
    120_000,
  );

  pyIt(
    'runs its unittest suite: the host scenario with Client and AsyncClient over NDJSON and LSP',
    async () => {
      // The installed copy when pip made one, so the test covers what users get; else the sources.
      const pythonPath = [installed ? site : path.join(PACKAGE, 'src'), path.join(PACKAGE, 'tests')].join(path.delimiter);
      const runs = [
        ['test_command_and_framing', ''],
        ...['test_client', 'test_async_client'].flatMap((m) => ['ndjson', 'lsp'].map((f) => [m, f])),
      ].map(([module, framing]) =>
        runProgram('python3', ['-m', 'unittest', '-v', module!], {
          cwd: path.join(PACKAGE, 'tests'),
          env: cleanEnv({
            PYTHONPATH: pythonPath,
            PYTHONDONTWRITEBYTECODE: '1',
            CHUTES_RPC_TEST_FRAMINGS: framing,
            CHUTES_RPC_TEST_HOME: fs.mkdtempSync(path.join(work, 'home-')),
          }),
        }).then((run) => ({ module, framing, ...run })),
      );
      for (const run of await Promise.all(runs)) {
        expect({ module: run.module, framing: run.framing, code: run.code, output: run.code === 0 ? '' : run.output }).toEqual({
          module: run.module,
          framing: run.framing,
          code: 0,
          output: '',
        });
        expect(run.output).toMatch(/^OK$/m);
      }
    },
    120_000,
  );

  pyIt(
    'killing the host process leaves no adapter running',
    async () => {
      const host = [
        'import sys, time',
        `sys.path[:0] = [${JSON.stringify(path.join(PACKAGE, 'src'))}, ${JSON.stringify(path.join(PACKAGE, 'tests'))}]`,
        'from adapter import COMMAND, env, replay',
        'from chutes_rpc import Client',
        'client = Client(COMMAND, replay("conformance-slow.json"), env=env())',
        'client.chat_stream(messages=[{"role": "user", "content": "a long story"}])',
        'print("adapter", client.pid, flush=True)',
        'time.sleep(60)',
      ].join('\n');
      const ms = await adapterLifetimeAfterHostKilled(
        'python3',
        ['-c', host],
        cleanEnv({ CHUTES_RPC_TEST_HOME: fs.mkdtempSync(path.join(work, 'home-')) }),
      );
      expect(ms).toBeLessThan(10_000);
    },
    30_000,
  );
});
