import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  API_KEY,
  CLIENT_ID,
  CLIENT_SECRET,
  type FakeIdp,
  loopbackConfig,
  readStore,
  redirectFromIdp,
  startApi,
  startIdp,
  freePort,
} from '../helpers/idp';
import { type Loopback, writeConfig } from '../helpers/loopback';
import { BIN, cleanEnv, tempHome } from '../helpers/rpc-process';

let idp: FakeIdp;
let api: Loopback;

beforeEach(async () => {
  idp = await startIdp();
  api = await startApi((t) => t === API_KEY || idp.accessTokens.has(t));
});

afterEach(async () => {
  await idp.close();
  await api.close();
});

interface Cli {
  child: ChildProcessWithoutNullStreams;
  stdout: string;
  stderr: string;
  done: Promise<number | null>;
  /** Resolves once stderr matches. */
  waitStderr(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

function cli(args: string[], opts: { home: string; env?: Record<string, string | undefined> }): Cli {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cleanEnv({ CHUTES_RPC_HOME: opts.home, DISPLAY: undefined, WAYLAND_DISPLAY: undefined, BROWSER: undefined, ...opts.env }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const c: Cli = {
    child,
    stdout: '',
    stderr: '',
    done: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    waitStderr: (re, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = c.stderr.match(re);
          if (m) {
            clearInterval(t);
            clearTimeout(to);
            resolve(m);
          }
        };
        const t = setInterval(check, 20);
        const to = setTimeout(() => {
          clearInterval(t);
          reject(new Error(`stderr never matched ${re}: ${c.stderr}`));
        }, timeoutMs);
        check();
      }),
  };
  child.stdout.on('data', (d: Buffer) => (c.stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (c.stderr += d.toString('utf8')));
  child.stdin.on('error', () => undefined);
  return c;
}

function homeWithConfig(): string {
  const home = tempHome();
  writeConfig(home, loopbackConfig(api.url, idp.url));
  return home;
}

function expectNoSecret(c: Cli): void {
  const text = c.stdout + c.stderr;
  expect(text).not.toContain(API_KEY);
  expect(text).not.toContain(CLIENT_SECRET);
  expect(text).not.toMatch(/\b(cak|crt|csc|cpk)_test/);
}

describe('chutes-rpc onboard / login / status / logout', () => {
  it('onboard --auth-choice chutes-api-key --chutes-api-key K --non-interactive verifies and stores the key', async () => {
    const home = homeWithConfig();
    const c = cli(['onboard', '--auth-choice', 'chutes-api-key', '--chutes-api-key', API_KEY, '--non-interactive'], { home });
    c.child.stdin.end();
    expect(await c.done).toBe(0);
    expect(c.stdout).toMatch(/Stored the API key as profile chutes:default \(verified/);
    expect(readStore(home).profiles['chutes:default'].apiKey).toBe(API_KEY);
    expect(api.requests.at(-1)?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expectNoSecret(c);

    const status = cli(['status'], { home });
    expect(await status.done).toBe(0);
    expect(status.stdout).toMatch(/authenticated: yes, with a stored API key/);
    expect(status.stdout).toMatch(/profile: chutes:default/);
    expectNoSecret(status);

    const json = cli(['status', '--json'], { home });
    expect(await json.done).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ authenticated: true, method: 'apiKey', profile: 'chutes:default' });

    const out = cli(['logout'], { home });
    expect(await out.done).toBe(0);
    expect(out.stdout).toMatch(/Removed profile chutes:default/);
    expect(readStore(home).profiles).toEqual({});

    const after = cli(['status'], { home });
    expect(await after.done).toBe(1);
    expect(after.stdout).toMatch(/authenticated: no/);
  });

  it('reads the key from piped stdin when it is not given', async () => {
    const home = homeWithConfig();
    const c = cli(['onboard', '--auth-choice', 'chutes-api-key'], { home });
    c.child.stdin.end(`${API_KEY}\n`);
    expect(await c.done).toBe(0);
    expect(readStore(home).profiles['chutes:default'].apiKey).toBe(API_KEY);
    expectNoSecret(c);
  });

  it('fails with a clear message and stores nothing for a missing or rejected key', async () => {
    const home = homeWithConfig();
    const none = cli(['onboard', '--auth-choice', 'chutes-api-key', '--non-interactive'], { home });
    none.child.stdin.end();
    expect(await none.done).toBe(2); // a usage error: one line, exit code 2
    expect(none.stderr).toMatch(/^chutes-rpc: .*--chutes-api-key or set CHUTES_API_KEY.*\n$/);

    const bad = cli(['onboard', '--auth-choice', 'chutes-api-key', '--chutes-api-key', 'cpk_test_wrong', '--non-interactive'], { home });
    bad.child.stdin.end();
    expect(await bad.done).toBe(1);
    expect(bad.stderr).toMatch(/rejected the API key/);
    expect(bad.stderr).toMatch(/\n {2}what to do: \S/);
    expect(bad.stderr).not.toContain('cpk_test_wrong');
    expect(fs.existsSync(path.join(home, 'credentials.json'))).toBe(false);

    const noChoice = cli(['onboard', '--non-interactive'], { home });
    noChoice.child.stdin.end();
    expect(await noChoice.done).toBe(2);
    expect(noChoice.stderr).toMatch(/^chutes-rpc: .*--auth-choice.*\n$/);
  });

  it('login opens the browser ($BROWSER), shows the countdown, and signs in through the callback', async () => {
    const home = homeWithConfig();
    const visited = path.join(home, 'browser-visits.txt');
    const browser = path.join(home, 'fake-browser.js');
    fs.writeFileSync(
      browser,
      `#!${process.execPath}
const http = require('node:http');
const fs = require('node:fs');
(function go(u, hops) {
  fs.appendFileSync(${JSON.stringify(visited)}, u + '\\n');
  http.get(u, (res) => {
    res.resume();
    if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location && hops < 5) go(new URL(res.headers.location, u).toString(), hops + 1);
  }).on('error', () => {});
})(process.argv[2], 0);
`,
      { mode: 0o755 },
    );
    const port = await freePort();
    const c = cli(['login', '--redirect-uri', `http://127.0.0.1:${port}/oauth-callback`, '--timeout', '20'], {
      home,
      env: { CHUTES_CLIENT_ID: CLIENT_ID, CHUTES_CLIENT_SECRET: CLIENT_SECRET, BROWSER: browser },
    });
    expect(await c.done).toBe(0);
    expect(c.stderr).toContain(`${idp.url}/idp/authorize?`);
    expect(c.stderr).toMatch(/\(opened in your browser\)/);
    expect(c.stderr).toMatch(/waiting for sign-in in the browser… 0:(20|19) left/);
    expect(c.stdout).toMatch(/Signed in as testuser: profile chutes:oauth/);
    const visits = fs.readFileSync(visited, 'utf8').trim().split('\n');
    expect(visits[0]).toMatch(/\/idp\/authorize\?/);
    expect(visits[1]).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/oauth-callback\\?code=`));
    expect(readStore(home).profiles['chutes:oauth'].account).toEqual({ sub: 'user-123', username: 'testuser' });
    expectNoSecret(c);

    const status = cli(['status'], { home, env: { CHUTES_CLIENT_SECRET: CLIENT_SECRET } });
    expect(await status.done).toBe(0);
    expect(status.stdout).toMatch(/Sign in with Chutes/);
    expect(status.stdout).toMatch(/account: testuser/);

    const out = cli(['logout'], { home, env: { CHUTES_CLIENT_SECRET: CLIENT_SECRET } });
    expect(await out.done).toBe(0);
    expect(out.stdout).toMatch(/Logged out of profile chutes:oauth \(tokens revoked\)/);
    expect(idp.revoked).toHaveLength(2);
  });

  it('onboard --auth-choice chutes prints the URL when no browser can be opened and accepts the pasted redirect URL', async () => {
    const home = homeWithConfig();
    const c = cli(['onboard', '--auth-choice', 'chutes', '--redirect-uri', 'https://app.example/oauth-callback'], {
      home,
      env: { CHUTES_CLIENT_ID: CLIENT_ID, CHUTES_CLIENT_SECRET: CLIENT_SECRET },
    });
    const [url] = await c.waitStderr(/http:\/\/127\.0\.0\.1:\d+\/idp\/authorize\?\S+/);
    await c.waitStderr(/waiting for sign-in in the browser… \d:\d\d left/);
    expect(c.stderr).not.toMatch(/opened in your browser/);
    expect(c.stderr).toMatch(/Nothing is listening .*paste/);
    const redirect = await redirectFromIdp(url);
    c.child.stdin.write('not a redirect\n');
    await c.waitStderr(/not a sign-in redirect/);
    c.child.stdin.write(`${redirect}\n`);
    expect(await c.done).toBe(0);
    expect(c.stdout).toMatch(/Signed in as testuser/);
    expect(readStore(home).profiles['chutes:oauth'].clientId).toBe(CLIENT_ID);
    expectNoSecret(c);
  });

  it('a sign-in that times out exits 1 with the reason', async () => {
    const home = homeWithConfig();
    const port = await freePort();
    const c = cli(['login', '--no-browser', '--redirect-uri', `http://127.0.0.1:${port}/cb`, '--timeout', '1'], {
      home,
      env: { CHUTES_CLIENT_ID: CLIENT_ID, CHUTES_CLIENT_SECRET: CLIENT_SECRET },
    });
    expect(await c.done).toBe(1);
    expect(c.stderr).toMatch(/timed out/);
    expect(fs.existsSync(path.join(home, 'credentials.json'))).toBe(false);
  });
});
