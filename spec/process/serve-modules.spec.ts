import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PRELOAD_IDLE_MS } from '../../lib/methods/preload';
import { chatHome, startGreetingUpstream, type Upstream } from '../helpers/chat-upstream';
import { preloadRecorder } from '../helpers/preload-recorder';
import { BIN, cleanEnv, tempHome } from '../helpers/rpc-process';

// Preloaded into the server: writes the Node modules it loaded (process.moduleLoadList) and the
// files it loaded as modules at exit.
const RECORDER = `
process.on('exit', () => {
  const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
  require('node:fs').writeFileSync(process.env.RECORDER_REPORT, JSON.stringify({ builtins, files: Object.keys(require.cache) }));
});
`;

const MODEL = 'acme/Quick';

let up: Upstream;
beforeAll(async () => {
  up = await startGreetingUpstream(MODEL);
});
afterAll(() => up.close());

/**
 * The Node modules (and the module files) a real serve loaded from spawn to its exit, given `input`
 * (ended `waitMs` after `untilId` is answered).
 */
async function modulesLoaded(
  input: string,
  untilId: number,
  home = chatHome(up),
  waitMs = 0,
): Promise<{ modules: string[]; files: string[]; out: string }> {
  const { nodeArgs, env, report } = preloadRecorder(RECORDER);
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--framing', 'ndjson'], {
    env: cleanEnv({ CHUTES_RPC_HOME: home, ...env }),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d;
    if (out.includes(`"id":${untilId},"result"`) || out.includes(`"id":${untilId},"error"`)) setTimeout(() => child.stdin.end(), waitMs);
  });
  child.stdin.write(input);
  expect(await exited).toBe(0);
  const { builtins, files } = JSON.parse(fs.readFileSync(report, 'utf8')) as { builtins: string[]; files: string[] };
  return { modules: builtins, files, out };
}

describe('what serve loads', () => {
  // node:v8 (the V8 flags, set before the first bundle after start: bin/v8-flags.js), node:os
  // (vscode-jsonrpc's pipe names, the home when $HOME is unset) and node:crypto cost ~5 ms of a
  // start together; initialize needs none of them.
  it('start-up and initialize load neither node:v8 nor node:os nor node:crypto', async () => {
    const { modules, out } = await modulesLoaded('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n', 1);
    expect(out).toContain('"protocolVersion"');
    expect(modules).toContain('net');
    expect(modules.filter((m) => ['v8', 'os', 'crypto'].includes(m))).toEqual([]);
  });

  // Each is several ms of a first chat: node:crypto (3-9 ms) is loaded only to draw a tool-call id
  // the service left out, node:http and node:assert by undici only on paths the
  // Agent bundle's patches make lazy (scripts/bundle-serve.js). The specs that run those paths
  // check that they still work. node:sea is loaded with undici's own llhttp module, which it
  // compiles when the one compiled ahead of it (bin/cached-bundle.js) was not taken: with
  // initialize, the chat reaches its connection before that compile's promise is resolved. An
  // upstream at an address (this one's, 127.0.0.1) needs no lookup: node:dns is not loaded for it.
  it('a chat.stream sent with initialize loads none of node:crypto, node:http, node:assert, node:sea, node:dns', async () => {
    const { modules, out } = await modulesLoaded(
      '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n' +
        `{"jsonrpc":"2.0","id":2,"method":"chat.stream","params":{"model":"chutes/${MODEL}","messages":[{"role":"user","content":"x"}]}}\n`,
      2,
    );
    expect(out).toContain('"content":"Hi there"');
    expect(modules).toContain('net');
    expect(modules.filter((m) => ['crypto', 'http', 'assert', 'sea', 'dns'].includes(m))).toEqual([]);
    expect(modules).toContain('v8');
  });

  // Client-side pacing (on by default) takes a lock on the home's pacing state: proper-lockfile, in
  // the serve-pacing bundle with its code cache, where loaded from node_modules with graceful-fs,
  // retry, signal-exit and node:assert it was ~15 ms of the first chat. Its credential's fingerprint
  // (SHA-256) and the state file's temporary name loaded node:crypto (~6 ms): @noble/hashes, in the
  // bundle, and a name made of the pid, the time and a count, do without it (lib/util/sha256.ts,
  // lib/util/replace-file.ts).
  it('a paced chat.stream loads no module file from node_modules, nor node:assert, nor node:crypto', async () => {
    const home = chatHome(up, { rateLimit: { requestsPerMinute: 60 } });
    const { modules, files, out } = await modulesLoaded(
      '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n' +
        `{"jsonrpc":"2.0","id":2,"method":"chat.stream","params":{"model":"chutes/${MODEL}","messages":[{"role":"user","content":"x"}]}}\n`,
      2,
      home,
    );
    expect(out).toContain('"content":"Hi there"');
    expect(fs.existsSync(path.join(home, 'pacing.json'))).toBe(true);
    expect(files.filter((f) => f.includes(`${path.sep}node_modules${path.sep}`))).toEqual([]);
    expect(modules.filter((m) => ['assert', 'crypto'].includes(m))).toEqual([]);
  });

  // V8 checks node's own code cache of its modules against its flags: loaded after the launcher set
  // ours (as the first call beyond initialize loads the rest of the serve path, with node:v8), they
  // were compiled from source (node:tls +5-8 ms). A call that reaches the upstream loads what its
  // first connection needs first, even one whose params are then refused; a local call, nothing.
  it('a call that reaches the upstream loads node:tls and node:dns before the V8 flags, a local call neither', async () => {
    const initialize = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n';
    const chat = await modulesLoaded(
      `${initialize}{"jsonrpc":"2.0","id":2,"method":"chat.stream","params":{"messages":7}}\n`,
      2,
      tempHome(),
    );
    expect(chat.out).toContain('"code":-32602');
    const v8 = chat.modules.indexOf('v8');
    expect(v8).toBeGreaterThan(-1);
    expect(chat.modules.indexOf('tls')).toBeGreaterThan(-1);
    expect(chat.modules.indexOf('tls')).toBeLessThan(v8);
    expect(chat.modules.indexOf('dns')).toBeGreaterThan(-1);
    expect(chat.modules.indexOf('dns')).toBeLessThan(v8);
    const local = await modulesLoaded(
      `${initialize}{"jsonrpc":"2.0","id":2,"method":"config.validate","params":{"config":{}}}\n`,
      2,
      tempHome(),
    );
    expect(local.out).toContain('"valid":true');
    expect(local.modules.filter((m) => ['tls', 'dns'].includes(m))).toEqual([]);
  });

  // The first request over https paid ~30 ms here for node:tls and its root certificates: the
  // preload, in the idle moment after the first reply, builds them (ChutesContext.prepareUpstream).
  it('the preload readies TLS for an upstream reached over https, and not for one over http', async () => {
    const initialize = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n';
    const overHttps = await modulesLoaded(initialize, 1, tempHome(), PRELOAD_IDLE_MS + 500);
    expect(overHttps.modules).toContain('tls');
    const overHttp = await modulesLoaded(initialize, 1, chatHome(up), PRELOAD_IDLE_MS + 500);
    expect(overHttp.modules).toContain('v8'); // The preload ran.
    expect(overHttp.modules).not.toContain('tls');
  });
});
