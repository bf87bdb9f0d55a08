import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import * as fs from 'node:fs';
import { chatHome, startGreetingUpstream, type Upstream } from '../helpers/chat-upstream';
import { preloadRecorder } from '../helpers/preload-recorder';
import { BIN, cleanEnv } from '../helpers/rpc-process';

const MODEL = 'acme/Quick';
/** Longer than V8 took to tier llhttp up in the background after one short chat (~0.3 s here). */
const IDLE_AFTER_CHAT_MS = 1500;
/** Far longer than the compile of llhttp takes on V8's threads (~10 ms). */
const COMPILE_TIME_MS = 500;

// Preloaded into the server: counts the WebAssembly modules compiled synchronously (new
// WebAssembly.Module, as undici compiles llhttp itself) and writes the count at exit.
const MODULE_COUNTER = `
let made = 0;
WebAssembly.Module = new Proxy(WebAssembly.Module, { construct: (target, args) => { made++; return Reflect.construct(target, args); } });
process.on('exit', () => require('node:fs').writeFileSync(process.env.RECORDER_REPORT, String(made)));
`;

const INITIALIZE = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n';
const chat = (id: number) =>
  `{"jsonrpc":"2.0","id":${id},"method":"chat.stream","params":{"model":"chutes/${MODEL}","messages":[{"role":"user","content":"x"}]}}\n`;

/**
 * Runs serve under node with `nodeArgs`, its home a chat home with `env` added, and writes `input`;
 * `onOutput` sees all the output so far at each piece, and may write more or end the input. Resolves
 * with the whole output once the server exited with 0.
 */
async function serve(
  nodeArgs: string[],
  env: Record<string, string>,
  input: string,
  onOutput: (out: string, stdin: Writable) => void,
): Promise<string> {
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--framing', 'ndjson'], {
    env: cleanEnv({ CHUTES_RPC_HOME: chatHome(up), ...env }),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d;
    onOutput(out, child.stdin);
  });
  child.stdin.write(input);
  expect(await exited).toBe(0);
  return out;
}

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
    let replied = false;
    const out = await serve(['--trace-wasm-compilation-times'], {}, INITIALIZE + chat(2), (soFar, stdin) => {
      if (!replied && soFar.includes('"id":2,"result"')) {
        replied = true;
        setTimeout(() => stdin.end(), IDLE_AFTER_CHAT_MS);
      }
    });
    expect(out).toContain('"content":"Hi there"');
    const tiers = [...out.matchAll(/Compiled function .* using (\w+)/g)].map((m) => m[1]);
    expect(tiers).toContain('Liftoff');
    expect(tiers.filter((t) => t !== 'Liftoff')).toEqual([]);
  });

  // bin/cached-bundle.js: compiled where undici first needs it, llhttp held the first chat ~12 ms
  // on the main thread. Without the launcher's compile, or without the Agent bundle's patch that takes
  // it, undici compiles its own module: one new WebAssembly.Module.
  it("is the module compiled on V8's threads since the first call beyond initialize: undici compiles none", async () => {
    const { nodeArgs, env, report } = preloadRecorder(MODULE_COUNTER);
    let statusAnswered = false;
    const status = '{"jsonrpc":"2.0","id":2,"method":"auth.status","params":{}}\n';
    const out = await serve(nodeArgs, env, INITIALIZE + status, (soFar, stdin) => {
      if (!statusAnswered && soFar.includes('"id":2,"result"')) {
        statusAnswered = true;
        // The chat once the compile the status call started is surely done.
        setTimeout(() => stdin.write(chat(3)), COMPILE_TIME_MS);
      }
      if (soFar.includes('"id":3,"result"') || soFar.includes('"id":3,"error"')) stdin.end();
    });
    expect(out).toContain('"content":"Hi there"');
    expect(fs.readFileSync(report, 'utf8')).toBe('0');
  });
});
