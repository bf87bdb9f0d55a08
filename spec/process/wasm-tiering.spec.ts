import { spawn } from 'node:child_process';
import { chatHome, startGreetingUpstream, type Upstream } from '../helpers/chat-upstream';
import { BIN, cleanEnv } from '../helpers/rpc-process';

const MODEL = 'acme/Quick';
/** Longer than V8 took to tier llhttp up in the background after one short chat (~0.3 s here). */
const IDLE_AFTER_CHAT_MS = 1500;

let up: Upstream;
beforeAll(async () => {
  up = await startGreetingUpstream(MODEL);
});
afterAll(() => up.close());

describe("undici's WebAssembly HTTP parser", () => {
  // bin/v8-flags.js (--liftoff-only) says why: the recompile cost ~270 ms of CPU and ~40 MB of fresh
  // memory in the first seconds, for ~0.5% of a delta's cost later. Without the flag V8 logs one
  // TurboFan compile within a second of a 2-chunk chat.
  it('keeps its baseline code: no TurboFan recompile after a chat, even when idle', async () => {
    // V8 prints what it compiled to stdout, between the replies.
    const child = spawn(process.execPath, ['--trace-wasm-compilation-times', BIN, 'serve', '--framing', 'ndjson'], {
      env: cleanEnv({ CHUTES_RPC_HOME: chatHome(up) }),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    let out = '';
    let replied = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (!replied && out.includes('"id":2,"result"')) {
        replied = true;
        setTimeout(() => child.stdin.end(), IDLE_AFTER_CHAT_MS);
      }
    });
    child.stdin.write(
      '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n' +
        `{"jsonrpc":"2.0","id":2,"method":"chat.stream","params":{"model":"chutes/${MODEL}","messages":[{"role":"user","content":"x"}]}}\n`,
    );
    expect(await exited).toBe(0);
    expect(out).toContain('"content":"Hi there"');
    const tiers = [...out.matchAll(/Compiled function .* using (\w+)/g)].map((m) => m[1]);
    expect(tiers).toContain('Liftoff');
    expect(tiers.filter((t) => t !== 'Liftoff')).toEqual([]);
  });
});
