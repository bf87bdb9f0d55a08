import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { validate } from '../../lib/schema-validation';
import { chatHome, FAKE_KEY, liveModel, startSse, startUpstream, writeStream } from '../helpers/chat-upstream';
import { writeConfig } from '../helpers/loopback';
import { BIN, ROOT, cleanEnv, tempHome } from '../helpers/rpc-process';

const cassette = (name: string) => path.join(ROOT, 'fixtures', 'cassettes', name);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], opts: { input?: string; env?: Record<string, string | undefined>; home?: string } = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, 'chat', ...args], {
    env: cleanEnv({ CHUTES_RPC_HOME: opts.home ?? tempHome(), CHUTES_API_KEY: FAKE_KEY, ...opts.env }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdin.end(opts.input ?? '');
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('chutes-rpc chat', () => {
  it('streams the answer to stdout and the reasoning to stderr (the seed example, replayed)', async () => {
    const r = await cli(['--model', 'chutes/zai-org/GLM-4.7-Flash', '--replay', cassette('chat-text.json'), 'Hello!']);
    expect(r).toEqual({
      code: 0,
      stdout: 'Hello! 👋 How can I help you today?\n',
      stderr: 'The user says hello. A short, friendly greeting back.\n',
    });
  });

  it('hides the reasoning on request and prints usage and cost with --usage', async () => {
    const r = await cli(['--hide-reasoning', '--usage', '--replay', cassette('chat-text.json'), 'Hello!']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Hello! 👋 How can I help you today?\n');
    expect(r.stderr).not.toContain('The user says hello');
    expect(r.stderr).toMatch(/^chutes\/zai-org\/GLM-4\.7-Flash: 9 prompt tokens \+ 27 completion tokens(, \$[0-9.e-]+)?, 1 attempt\n$/);
  });

  it('prints the whole result as JSON with --json', async () => {
    const r = await cli(['--json', '--replay', cassette('chat-tools.json'), '--model', 'Qwen/Qwen3-32B-TEE', 'Weather and time in Paris?']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(validate('result:chat.stream', result)).toEqual([]);
    expect(result.message.toolCalls.map((c: { name: string; arguments: string }) => [c.name, JSON.parse(c.arguments)])).toEqual([
      ['get_weather', { city: 'Paris', unit: 'celsius' }],
      ['get_time', { tz: 'Europe/Paris' }],
    ]);
    expect(result.usage.cachedTokens).toBe(128);
  });

  it('reads the prompt from stdin, sends the system prompt and options, and survives retries', async () => {
    const up = await startUpstream();
    up.models.push(liveModel('acme/Cli', false));
    try {
      let calls = 0;
      up.scripts.set('acme/Cli', async (_req, res) => {
        if (calls++ === 0) {
          res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' });
          res.end(JSON.stringify({ detail: 'No instances available (yet) for chute_id=x' }));
          return;
        }
        startSse(res);
        await writeStream(res, 'acme/Cli', [{ content: 'line one\n' }, { content: 'line two' }]);
      });
      const r = await cli(['-m', 'chutes/acme/Cli', '-s', 'Be terse.', '--max-tokens', '20', '--temperature', '0.5'], {
        input: 'Summarise this.\n',
        // The cold chute's warm-up has its own spec (chat-warmup): here the plain retry.
        home: chatHome(up, { warmup: false }),
        env: { CHUTES_API_KEY: undefined },
      });
      // The back-off is shown on stderr (a line of its own when stderr is not a terminal).
      expect(r).toEqual({
        code: 0,
        stdout: 'line one\nline two\n',
        stderr: expect.stringMatching(/^chutes-rpc: .*HTTP 503.*; retry 1 of \d+ in \d+ ms\n$/),
      });
      expect(up.chats).toHaveLength(2);
      expect(up.chats[1]!.json).toMatchObject({
        model: 'acme/Cli',
        max_tokens: 20,
        temperature: 0.5,
        messages: [
          { role: 'system', content: 'Be terse.' },
          { role: 'user', content: 'Summarise this.\n' },
        ],
      });
    } finally {
      await up.close();
    }
  });

  it('exits 1 on an API error, printing the upstream detail and what to do', async () => {
    const r = await cli(['--replay', cassette('chat-401.json'), 'Hello!']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("HTTP 401: Can't find a user with that api key in our db :(");
    expect(r.stderr).toMatch(/what to do: Verify the API key/);
    expect(r.stderr).not.toContain(FAKE_KEY);
  });

  it('keeps the text that arrived before a stream failed, and exits 1', async () => {
    const r = await cli(['--replay', cassette('chat-midstream-error.json'), 'Tell me a story']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('Once upon a time\n');
    expect(r.stderr).toContain('Unhandled exception during response stream');
  });

  it('exits 1 telling how to log in when there is no credential (and sends nothing)', async () => {
    // Not under --replay, which needs no credential (spec/process/cli-first-use.spec.ts).
    const upstream = await startUpstream();
    const home = tempHome();
    writeConfig(home, { models: { providers: { chutes: { baseUrl: `${upstream.url}/v1` } } } });
    const r = await cli(['Hello!'], { home, env: { CHUTES_API_KEY: undefined } }).finally(() => upstream.close());
    expect(upstream.chats).toEqual([]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No Chutes credential/);
    expect(r.stderr).toMatch(/what to do: .*(onboard|login)/);
  });

  it('exits 2 without a prompt', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/prompt/);
  });
});
