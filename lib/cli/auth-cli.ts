import * as readline from 'node:readline';
import type { ChutesContext } from '../chutes/context';
import { isAbortError, ChutesError } from '../chutes/errors';
import type { AuthAuthorizeUrl, AuthStatusResult, OAuthLoginParams } from '../generated/types';
import { redact } from '../log/redact';
import { CliUsageError, createCliApp } from './cli-app';
import type { AuthChoice, CommonArgs, LoginArgs } from './commands/auth-options';

const err = (text: string) => process.stderr.write(text);
const out = (text: string) => process.stdout.write(text);

/** Runs a command body: provider errors become a message and exit code 1, Ctrl-C exit code 130. */
async function run(argv: CommonArgs, body: (app: ChutesContext, signal: AbortSignal) => Promise<number | void>): Promise<void> {
  let app: ChutesContext;
  try {
    app = createCliApp(argv);
  } catch (e) {
    if (!(e instanceof CliUsageError)) throw e;
    err(`chutes-rpc: ${e.message}\n`);
    process.exitCode = 2;
    return;
  }
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  try {
    app.requireConfig();
    const code = await body(app, controller.signal);
    process.exitCode = code ?? 0;
  } catch (e) {
    if (controller.signal.aborted || isAbortError(e)) {
      err('\nchutes-rpc: cancelled\n');
      process.exitCode = 130;
    } else if (e instanceof ChutesError) {
      err(`chutes-rpc: ${redact(e.message)}\n  ${redact(e.data.resolution)}\n`);
      process.exitCode = 1;
    } else {
      err(`chutes-rpc: ${redact((e as Error)?.message ?? String(e))}\n`);
      process.exitCode = 1;
    }
  } finally {
    process.off('SIGINT', onSigint);
    await app.close();
  }
}

// ---- login / onboard ----

export function runLogin(argv: LoginArgs): Promise<void> {
  return run(argv, async (app, signal) => {
    const interactive = !argv['non-interactive'] && !!process.stdin.isTTY;
    let choice = argv['auth-choice'];
    if (!choice) {
      if (!interactive) throw usage('Give --auth-choice chutes-api-key (an API key) or --auth-choice chutes (Sign in with Chutes).');
      choice = await askChoice();
    }
    return choice === 'chutes-api-key' ? apiKeyFlow(app, argv, interactive, signal) : oauthFlow(app, argv, signal);
  });
}

function usage(message: string): ChutesError {
  return new ChutesError('auth_required', { message, resolution: 'See chutes-rpc onboard --help.' });
}

async function apiKeyFlow(app: ChutesContext, argv: LoginArgs, interactive: boolean, signal: AbortSignal): Promise<number> {
  let key = argv['chutes-api-key']?.trim() || app.config.env.CHUTES_API_KEY?.trim();
  if (!key && !argv['non-interactive']) {
    key = interactive ? await askHidden('Chutes API key (cpk_..., input hidden): ') : await firstLine(process.stdin);
  }
  if (!key) {
    throw usage(
      argv['non-interactive']
        ? 'No API key: give --chutes-api-key or set CHUTES_API_KEY (--non-interactive never asks).'
        : 'No API key was given.',
    );
  }
  const { apiKeyLogin } = require('../chutes/api-key') as typeof import('../chutes/api-key');
  const params: Parameters<typeof apiKeyLogin>[1] = { method: 'apiKey', apiKey: key, verify: argv.verify !== false };
  if (argv.profile) params.profile = argv.profile;
  const r = await apiKeyLogin(app, params, signal);
  out(`Stored the API key as profile ${r.profile}${r.verified ? ' (verified: Chutes accepted it)' : ' (not verified)'}.\n`);
  return 0;
}

async function oauthFlow(app: ChutesContext, argv: LoginArgs, signal: AbortSignal): Promise<number> {
  const { oauthLogin, completeLogin } = require('../chutes/oauth/login') as typeof import('../chutes/oauth/login');
  const params: OAuthLoginParams = { method: 'oauth', timeoutMs: Math.round((argv.timeout ?? 180) * 1000) };
  if (argv['client-id']) params.clientId = argv['client-id'];
  if (argv['client-secret']) params.clientSecret = argv['client-secret'];
  if (argv['redirect-uri']) params.redirectUri = argv['redirect-uri'];
  if (argv.scopes) params.scopes = argv.scopes;
  if (argv.profile) params.profile = argv.profile;
  if (params.timeoutMs! < 1000 || params.timeoutMs! > 3_600_000) throw usage('--timeout must be between 1 and 3600 seconds.');

  let stopCountdown: (() => void) | undefined;
  let lines: readline.Interface | undefined;
  const say = (text: string) => {
    stopCountdown?.();
    err(text);
  };
  try {
    const result = await oauthLogin(app, params, {
      signal,
      onAuthorizeUrl: async (n: AuthAuthorizeUrl) => {
        err(`Sign in with Chutes: open this address in a browser:\n\n  ${n.url}\n\n`);
        const opened = argv.browser !== false && (await openBrowser(n.url, app.config.env));
        if (opened) err('(opened in your browser)\n');
        err(
          n.listening
            ? 'If the browser runs on another machine, sign in there, then paste here the whole address it ends up at and press Enter.\n'
            : `Nothing is listening on ${n.redirectUri} here: after signing in, paste the whole address the browser ends up at (even if it shows an error page) and press Enter.\n`,
        );
        lines = readline.createInterface({ input: process.stdin, terminal: false });
        lines.on('line', (line) => {
          if (line.trim() === '') return;
          try {
            completeLogin(app, n.loginId, line);
            say('redirect accepted; finishing the sign-in…\n');
          } catch (e) {
            say(`chutes-rpc: ${redact((e as Error).message)}\n`);
          }
        });
        stopCountdown = countdown(Date.parse(n.expiresAt));
      },
    });
    stopCountdown?.();
    const who = result.account ? ` as ${result.account.username ?? result.account.sub}` : '';
    out(`Signed in${who}: profile ${result.profile}, scopes ${(result.scopes ?? []).join(' ')}, access token valid until ${result.expiresAt} (refreshed automatically).\n`);
    return 0;
  } finally {
    stopCountdown?.();
    lines?.close();
    // Stop reading stdin so that the process can exit.
    process.stdin.pause();
    if (!process.stdin.isTTY) process.stdin.destroy();
  }
}

/** The live line on stderr: "waiting for sign-in in the browser… 2:41 left" (redrawn each second on a terminal). */
function countdown(until: number): () => void {
  const tty = !!process.stderr.isTTY;
  let last = '';
  const render = () => {
    const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    const text = `waiting for sign-in in the browser… ${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')} left`;
    if (text === last) return;
    last = text;
    err(tty ? `\r\x1b[2K${text}` : `${text}\n`);
  };
  render();
  const timer = setInterval(render, tty ? 1000 : 30_000);
  timer.unref();
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    if (tty) err('\r\x1b[2K');
  };
}

/**
 * Opens `url` in a browser where that can work: $BROWSER if set, else open (macOS), rundll32
 * (Windows) or xdg-open (elsewhere, only with a display). Never fails: false when it could not.
 */
export function openBrowser(url: string, env: Record<string, string | undefined>): Promise<boolean> {
  let cmd: string;
  let args: string[];
  const browser = env.BROWSER?.trim();
  if (browser) {
    const parts = browser.split(':')[0]!.split(/\s+/);
    cmd = parts[0]!;
    args = [...parts.slice(1), url];
  } else if (process.platform === 'darwin') {
    cmd = 'open';
    args = [url];
  } else if (process.platform === 'win32') {
    cmd = 'rundll32';
    args = ['url.dll,FileProtocolHandler', url];
  } else {
    // Without a display, xdg-open would at best fail and at worst start a text browser in this terminal.
    if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return Promise.resolve(false);
    cmd = 'xdg-open';
    args = [url];
  }
  return new Promise((resolve) => {
    try {
      const { spawn } = require('node:child_process') as typeof import('node:child_process');
      const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}

async function askChoice(): Promise<AuthChoice> {
  err('How do you want to authenticate with Chutes?\n  1) an API key (cpk_...)\n  2) Sign in with Chutes in the browser\n');
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    for (;;) {
      const answer = (await new Promise<string>((r) => rl.question('Choose 1 or 2 [1]: ', r))).trim();
      if (answer === '' || answer === '1') return 'chutes-api-key';
      if (answer === '2') return 'chutes';
    }
  } finally {
    rl.close();
  }
}

/** Asks on the terminal without echoing what is typed. */
async function askHidden(question: string): Promise<string> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  err(question);
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  try {
    return (await new Promise<string>((r) => rl.question('', r))).trim();
  } finally {
    rl.close();
    err('\n');
  }
}

/** The first line of a piped stdin (`echo $KEY | chutes-rpc onboard ...`), or '' at EOF. */
function firstLine(input: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input, terminal: false });
    let done = false;
    rl.once('line', (l) => {
      done = true;
      rl.close();
      resolve(l.trim());
    });
    rl.once('close', () => {
      if (!done) resolve('');
    });
  });
}

// ---- logout / status ----

export function runLogout(argv: CommonArgs & { profile?: string }): Promise<void> {
  return run(argv, async (app) => {
    const { logout } = require('../methods/auth') as typeof import('../methods/auth');
    const r = await logout(app, argv.profile ? { profile: argv.profile } : {});
    if (!r.profile) out('Nothing stored to log out of.\n');
    else if (r.revoked === undefined) out(`Removed profile ${r.profile}.\n`);
    else out(`Logged out of profile ${r.profile}${r.revoked ? ' (tokens revoked)' : ' (the IdP did not confirm revoking the tokens; they were removed here)'}.\n`);
  });
}

const SOURCES: Record<string, string> = {
  profile: 'the profile asked for',
  config: 'the API key in the config file',
  env: 'CHUTES_API_KEY',
  store: 'the credential store',
};

export function runStatus(argv: CommonArgs & { profile?: string; json?: boolean }): Promise<void> {
  return run(argv, async (app, signal) => {
    const { statusOf } = require('../methods/auth') as typeof import('../methods/auth');
    const r: AuthStatusResult = await statusOf(app, argv.profile ? { profile: argv.profile } : {}, signal);
    if (argv.json) out(`${JSON.stringify(r, null, 2)}\n`);
    else out(describeStatus(r));
    return r.authenticated ? 0 : 1;
  });
}

function describeStatus(r: AuthStatusResult): string {
  const lines: string[] = [];
  const method = r.method === 'apiKey' ? 'API key' : r.method === 'oauth' ? 'Sign in with Chutes' : undefined;
  if (r.authenticated) lines.push(`authenticated: yes, with ${method}${r.source ? ` from ${SOURCES[r.source]}` : ''}`);
  else if (method) lines.push(`authenticated: no (${method}${r.source ? ` from ${SOURCES[r.source]}` : ''} is not usable)`);
  else lines.push('authenticated: no');
  if (r.profile) lines.push(`profile: ${r.profile}`);
  if (r.account) lines.push(`account: ${r.account.username ?? '(no username)'} (sub ${r.account.sub})`);
  if (r.scopes) lines.push(`scopes: ${r.scopes.join(' ')}`);
  if (r.expiresAt) lines.push(`access token valid until: ${r.expiresAt}`);
  if (r.profiles) lines.push(`stored profiles: ${r.profiles.length ? r.profiles.join(', ') : 'none'}`);
  if (r.problem) lines.push(`problem: ${r.problem}`);
  if (!r.authenticated && !r.problem) lines.push('Log in: chutes-rpc onboard --auth-choice chutes-api-key, or chutes-rpc login (Sign in with Chutes).');
  return `${lines.join('\n')}\n`;
}
