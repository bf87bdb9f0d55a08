import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startLoopback, writeConfig } from '../helpers/loopback';
import { BIN, ROOT, cleanEnv, tempHome } from '../helpers/rpc-process';

// The CLI as a new user meets it: each test is one defect of issue 12, seen from outside the process.

const DEMO = path.join(ROOT, 'fixtures', 'cassettes', 'demo.json');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; home?: string; input?: string; command?: string[]; timeoutMs?: number } = {},
): Promise<Run> {
  const [command, ...pre] = opts.command ?? [process.execPath, BIN];
  const child = spawn(command!, [...pre, ...args], {
    env: cleanEnv({ CHUTES_RPC_HOME: opts.home ?? tempHome(), ...opts.env }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin.end(opts.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15_000);
  return new Promise((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

/** A home whose config sends every upstream call to a loopback server, so that a test sees anything sent. */
async function watchedHome() {
  const upstream = await startLoopback((_req, res) => res.end('{}'));
  const home = tempHome();
  writeConfig(home, { models: { providers: { chutes: { baseUrl: `${upstream.url}/v1`, idpBaseUrl: upstream.url } } } });
  return { upstream, home };
}

describe('usage errors: one line naming the problem, a hint to --help, exit code 2, nothing sent (defects 1 and 10)', () => {
  it('refuses an option that takes a value given without one, wherever it is on the line', async () => {
    const { upstream, home } = await watchedHome();
    try {
      const lines: Array<[string[], string, string]> = [
        [['chat', 'hi', '--replay'], '--replay', 'chat'],
        [['models', 'list', '--replay'], '--replay', 'models list'],
        [['chat', 'hi', '-m'], '--model', 'chat'],
        [['status', '--config'], '--config', 'status'],
        [['chat', 'hi', '--max-tokens'], '--max-tokens', 'chat'],
        [['serve', '--replay='], '--replay', ''],
      ];
      for (const [args, option, command] of lines) {
        const r = await cli(args, { home, env: { CHUTES_API_KEY: 'cpk_test_first_use' } });
        const hint = command ? `\nRun 'chutes-rpc ${command} --help' for usage.\n` : '\n';
        expect({ args, code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({
          args,
          code: 2,
          stderr: `chutes-rpc: ${option} needs a value${hint}`,
          stdout: '',
        });
      }
      expect(upstream.requests).toEqual([]);
    } finally {
      await upstream.close();
    }
  });

  it("reports yargs' own errors the same way: an unknown flag once, an unknown command, a missing action; -h is --help", async () => {
    const flag = await cli(['chat', '--bogus-flag', 'x']);
    expect(flag).toMatchObject({
      code: 2,
      stdout: '',
      stderr: "chutes-rpc: unknown argument: bogus-flag\nRun 'chutes-rpc chat --help' for usage.\n",
    });
    const command = await cli(['logn']);
    expect(command).toMatchObject({
      code: 2,
      stdout: '',
      stderr: "chutes-rpc: unknown command logn (did you mean login?)\nRun 'chutes-rpc --help' for usage.\n",
    });
    const action = await cli(['models']);
    expect(action).toMatchObject({
      code: 2,
      stdout: '',
      stderr: "chutes-rpc: give an action: chutes-rpc models list\nRun 'chutes-rpc models --help' for usage.\n",
    });
    const help = await cli(['chat', '-h']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('chutes-rpc chat [prompt..]');
  });

  it('never mangles the help text with the redactor', async () => {
    const help = await cli(['onboard', '--help']);
    expect(help.stdout).toContain('(csc_...)');
    expect(help.stdout).not.toContain('[redacted]');
  });
});

describe('--home is checked before anything is created (defect 11)', () => {
  it('refuses a regular file at once, with a clear message', async () => {
    const file = path.join(tempHome(), 'a-file');
    fs.writeFileSync(file, '');
    const r = await cli(['onboard', '--home', file, '--auth-choice', 'chutes-api-key', '--chutes-api-key', 'cpk_test_x', '--no-verify']);
    expect(r).toMatchObject({ code: 2, stderr: `chutes-rpc: --home ${file}: ${file} is a file, not a directory\n` });
  });

  it('refuses a place where no directory can be made (under /proc) instead of spinning', async () => {
    if (!fs.existsSync('/proc/self')) return;
    const r = await cli(['onboard', '--home', '/proc/nope', '--auth-choice', 'chutes-api-key', '--chutes-api-key', 'cpk_test_x'], {
      timeoutMs: 10_000,
    });
    expect(r.signal).toBeNull();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^chutes-rpc: --home \/proc\/nope: cannot create \/proc\/nope \(/);
  });
});

describe('a config whose optional ${VAR} is unset does not block anything (defect 3)', () => {
  it('status, onboard and a stored credential work, with a warning naming the variable', async () => {
    const home = tempHome();
    writeConfig(home, '{ models: { providers: { chutes: { apiKey: "${CHUTES_API_KEY}" } } } }');
    const before = await cli(['status'], { home });
    expect(before.stdout).toContain('authenticated: no');
    expect(before.stderr).toContain('/models/providers/chutes/apiKey: environment variable CHUTES_API_KEY is not set');
    const onboard = await cli(['onboard', '--auth-choice', 'chutes-api-key', '--chutes-api-key', 'cpk_test_stored', '--no-verify'], {
      home,
    });
    expect(onboard).toMatchObject({ code: 0, stdout: 'Stored the API key as profile chutes:default (not verified).\n' });
    const after = await cli(['status'], { home });
    expect(after).toMatchObject({ code: 0 });
    expect(after.stdout).toMatch(/^authenticated: yes, with a stored API key$/m);
    const validate = await cli(['config', 'validate', path.join(home, 'config.json5')], { home });
    expect(validate.code).toBe(1);
    expect(validate.stdout).toContain('CHUTES_API_KEY is not set');
  });

  it('status says where the key is from in one phrase', async () => {
    const r = await cli(['status'], { env: { CHUTES_API_KEY: 'cpk_test_env_key' } });
    expect(r.stdout).toMatch(/^authenticated: yes, with the API key in CHUTES_API_KEY$/m);
  });
});

describe('logout of a profile nothing is stored under (defect 4)', () => {
  it('says so and exits 1, naming what is stored', async () => {
    const home = tempHome();
    await cli(['onboard', '--auth-choice', 'chutes-api-key', '--chutes-api-key', 'cpk_test_stored', '--no-verify'], { home });
    const r = await cli(['logout', '--profile', 'typo'], { home });
    expect(r).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'chutes-rpc: nothing is stored under the profile typo (stored profiles: chutes:default)\n',
    });
  });
});

describe('replay (defects 7 and 9)', () => {
  it('needs no credential', async () => {
    const r = await cli(['chat', '--replay', DEMO, '-m', 'chutes/zai-org/GLM-4.7-Flash', 'Write a haiku about confidential computing.']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('proof, not promises.');
  });

  it('says which recorded requests exist for the URL and how the request differs, and what to do', async () => {
    const r = await cli(['chat', '--replay', DEMO, '-m', 'chutes/some/other-model', 'Hi']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`replay: no recorded response for POST https://llm.chutes.ai/v1/chat/completions in ${DEMO}`);
    expect(r.stderr).toContain('#2 POST /v1/chat/completions: body.model is "zai-org/GLM-4.7-Flash" there, "some/other-model" here');
    expect(r.stderr).toMatch(/what to do: Replay answers only what the cassette recorded/);
    expect(r.stderr).not.toMatch(/network connection/);
  });

  it('refuses a malformed cassette before anything runs (exit 2), never falling back to the catalog', async () => {
    const file = path.join(tempHome(), 'broken.json');
    fs.writeFileSync(file, '{"version": 1, "interactions": [');
    for (const args of [
      ['models', 'list', '--replay', file],
      ['serve', '--replay', file],
    ]) {
      const r = await cli(args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(r.stderr).toMatch(new RegExp(`^chutes-rpc: --replay: cannot read cassette ${file}: `));
    }
  });
});

describe('chat prints an answer that is only tool calls (defect 14)', () => {
  it('one line per call', async () => {
    const home = tempHome();
    const cassette = path.join(home, 'tools.json');
    const chunk = (delta: object, finish: string | null = null) => ({
      id: 'c',
      model: 'm/x',
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    fs.writeFileSync(
      cassette,
      JSON.stringify({
        version: 1,
        interactions: [
          {
            request: { method: 'POST', url: 'https://llm.chutes.ai/v1/chat/completions' },
            response: {
              status: 200,
              headers: { 'content-type': 'text/event-stream' },
              sse: [
                chunk({
                  role: 'assistant',
                  tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }],
                }),
                chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Lisbon"}' } }] }),
                chunk({}, 'tool_calls'),
                '[DONE]',
              ],
            },
          },
        ],
      }),
    );
    const r = await cli(['chat', '--replay', cassette, '-m', 'm/x', 'weather?'], { home });
    expect(r).toMatchObject({ code: 0, stdout: 'tool call: get_weather({"city":"Lisbon"})\n' });
  });
});

describe('the demo (defect 5)', () => {
  it('ends quietly when stdout closes early (| head), and leaves no directory behind', async () => {
    const tmp = tempHome();
    const child = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" demo | head -2`], {
      env: cleanEnv({ TMPDIR: tmp, NO_COLOR: '1' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    await new Promise((r) => child.once('close', r));
    expect(stdout.split('\n')).toHaveLength(3);
    expect(stdout).toMatch(/^chutes-rpc demo/);
    expect(stdout).toContain(`replaying ${DEMO};`);
    expect(stderr).toBe('');
    // The demo has finished or stopped once the pipeline has; wait for its home to be gone.
    for (let i = 0; i < 50 && fs.readdirSync(tmp).some((f) => f.startsWith('chutes-rpc-demo-')); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('chutes-rpc-demo-'))).toEqual([]);
  });

  it('stops on Ctrl-C with exit code 130, removing its home', async () => {
    const tmp = tempHome();
    const child = spawn(process.execPath, [BIN, 'demo'], { env: cleanEnv({ TMPDIR: tmp }), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    while (!stdout.includes('→ initialize')) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('close', r));
    expect(code).toBe(130);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('chutes-rpc-demo-'))).toEqual([]);
  });
});

describe('on a terminal (run under script(1), which gives the command a pseudo-terminal)', () => {
  const hasScript = fs.existsSync('/usr/bin/script') || fs.existsSync('/bin/script');
  const onTty = (command: string, env: Record<string, string | undefined>, typed?: string): Promise<string> => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (typed !== undefined && out.includes('input hidden): ')) {
        child.stdin.write(typed);
        typed = undefined;
      }
    });
    return new Promise((resolve) => child.once('close', () => resolve(out)));
  };

  (hasScript ? it : it.skip)('the API-key prompt stays visible and the typed key is not echoed (defect 2)', async () => {
    const home = tempHome();
    const out = await onTty(
      `"${process.execPath}" "${BIN}" onboard --auth-choice chutes-api-key --no-verify`,
      { CHUTES_RPC_HOME: home },
      'cpk_test_typed_secret_1\r',
    );
    expect(out).toContain('Stored the API key as profile chutes:default');
    expect(out).not.toContain('cpk_test_typed_secret_1');
    // Whatever readline writes after the question, the question is the last thing on its line.
    const beforeStored = out.slice(0, out.indexOf('Stored the API key'));
    const lastClear = beforeStored.lastIndexOf('\x1b[0J');
    expect(beforeStored.slice(lastClear)).toContain('Chutes API key (cpk_..., input hidden): ');
    expect(JSON.parse(fs.readFileSync(path.join(home, 'credentials.json'), 'utf8')).profiles['chutes:default'].apiKey).toBe(
      'cpk_test_typed_secret_1',
    );
  });

  (hasScript ? it : it.skip)('the demo honours NO_COLOR (defect 5)', async () => {
    const colored = await onTty(`"${process.execPath}" "${BIN}" demo`, {});
    const plain = await onTty(`"${process.execPath}" "${BIN}" demo`, { NO_COLOR: '1' });
    const sgr = (n: string) => `${String.fromCharCode(27)}[${n}m`;
    expect(colored).toContain(sgr('1'));
    expect(plain).toContain('proof, not promises.');
    expect(plain).toMatch(/Next: .*\r?\n.*chutes-rpc onboard/);
    for (const n of ['1', '2', '22', '31', '32', '36', '39']) expect(plain).not.toContain(sgr(n));
  });
});

describe('the conformance runner (defect 12)', () => {
  it('reports an adapter that exits at once, with its exit code and stderr, without waiting for the timeout', async () => {
    const started = Date.now();
    const r = await cli(['conformance', '--adapter', "sh -c 'echo adapter is broken >&2; exit 3'", 'initialize']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('step 2: the adapter exited with code 3, stderr: adapter is broken (while waiting for');
    expect(r.stdout).toMatch(/0 passed, 2 failed\n$/);
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it('explains a filter that matches no scenario (exit 2)', async () => {
    const r = await cli(['conformance', 'no-such-scenario']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^chutes-rpc: no scenario name contains "no-such-scenario"; the scenarios are: auth-apikey-refused, /);
    expect(r.stdout).toBe('');
  });
});
