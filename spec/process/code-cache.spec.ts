import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { PRELOAD_IDLE_MS } from '../../lib/methods/preload';
import { chatHome, startGreetingUpstream } from '../helpers/chat-upstream';
import { CACHED_SCRIPTS, preloadRecorder } from '../helpers/preload-recorder';
import { BIN, cleanEnv, tempHome } from '../helpers/rpc-process';

// Preloaded into the server: what it compiled with a code cache, written at exit.
const RECORDER = `${CACHED_SCRIPTS}
process.on('exit', () => require('node:fs').writeFileSync(process.env.RECORDER_REPORT, JSON.stringify(cachedScripts)));
`;

/**
 * The scripts a real serve compiled with a code cache, in order, from spawn to the end of its input:
 * initialize, then `then` (answered before the input goes on), then a wait.
 */
async function compiledScripts(
  waitAfterInitialize: number,
  opts: { home?: string; then?: string } = {},
): Promise<Array<{ file: string; rejected: boolean }>> {
  const { nodeArgs, env, report } = preloadRecorder(RECORDER);
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--framing', 'ndjson'], {
    env: cleanEnv({ CHUTES_RPC_HOME: opts.home ?? tempHome(), ...env }),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  const replied = new Promise<void>((resolve) =>
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes(opts.then ? '"id":2,"result"' : '"id":1')) resolve();
    }),
  );
  child.stdin.write(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n${opts.then ?? ''}`);
  await replied;
  await new Promise((resolve) => setTimeout(resolve, waitAfterInitialize));
  child.stdin.end();
  expect(await exited).toBe(0);
  return JSON.parse(fs.readFileSync(report, 'utf8')) as Array<{ file: string; rejected: boolean }>;
}

describe('the bundles and code caches the build made', () => {
  it('start-up and initialize compile the serve bundle alone, with its cache', async () => {
    expect(await compiledScripts(0)).toEqual([{ file: 'serve.bundle.js', rejected: false }]);
  });

  it('the preload compiles every other bundle of the serve path, each with its cache', async () => {
    expect(await compiledScripts(PRELOAD_IDLE_MS + 500)).toEqual([
      { file: 'serve.bundle.js', rejected: false },
      { file: 'serve-calls.bundle.js', rejected: false },
      { file: 'undici-agent.bundle.js', rejected: false },
      { file: 'serve-more.bundle.js', rejected: false },
      { file: 'serve-pacing.bundle.js', rejected: false },
    ]);
  });

  it('a chat with pacing off loads no pacing bundle, one with pacing on loads it before the Agent; the preload loads none twice', async () => {
    const up = await startGreetingUpstream('acme/Quick');
    try {
      const chat =
        '{"jsonrpc":"2.0","id":2,"method":"chat.stream","params":{"model":"chutes/acme/Quick","messages":[{"role":"user","content":"x"}]}}\n';
      const bundles = (files: string[]) => files.map((file) => ({ file, rejected: false }));
      expect(await compiledScripts(0, { home: chatHome(up), then: chat })).toEqual(
        bundles(['serve.bundle.js', 'serve-calls.bundle.js', 'undici-agent.bundle.js']),
      );
      expect(await compiledScripts(0, { home: chatHome(up, { rateLimit: { requestsPerMinute: 600 } }), then: chat })).toEqual(
        bundles(['serve.bundle.js', 'serve-calls.bundle.js', 'serve-pacing.bundle.js', 'undici-agent.bundle.js']),
      );
      expect(await compiledScripts(PRELOAD_IDLE_MS + 500, { home: chatHome(up), then: chat })).toEqual(
        bundles(['serve.bundle.js', 'serve-calls.bundle.js', 'undici-agent.bundle.js', 'serve-more.bundle.js', 'serve-pacing.bundle.js']),
      );
    } finally {
      await up.close();
    }
  });
});
