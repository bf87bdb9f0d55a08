import type * as readline from 'node:readline';
import type { CommandModule } from 'yargs';
import type { AuthAuthorizeUrl, OAuthLoginParams } from '../../generated/types';
import { type CommandRun, runCommand } from '../command-runner';
import { inCliWords } from '../cli-words';
import { UsageError } from '../settings';
import { type LoginArgs, LOGIN_OPTIONS } from './auth-options';

export const loginCommand: CommandModule<object, LoginArgs> = {
  command: 'login',
  describe: 'Sign in with Chutes in the browser (OAuth with PKCE); --auth-choice chutes-api-key stores an API key instead',
  builder: (y) =>
    y.options({ ...LOGIN_OPTIONS, 'auth-choice': { ...LOGIN_OPTIONS['auth-choice'], default: 'chutes' } } as unknown as Record<
      string,
      object
    >),
  handler: (argv) =>
    runCommand(argv, (run) =>
      argv['auth-choice'] === 'chutes-api-key'
        ? (require('./onboard') as typeof import('./onboard')).storeApiKey(run, argv)
        : signIn(run, argv),
    ),
};

/** Sign in with Chutes: prints the address to open (and opens it), then waits for the redirect or a pasted one. */
export async function signIn(run: CommandRun, argv: LoginArgs): Promise<number> {
  const chutes = run.chutes();
  chutes.requireConfig();
  const { oauthLogin, completeLogin } = require('../../chutes/oauth/login') as typeof import('../../chutes/oauth/login');
  const { redact } = require('../../log/redact') as typeof import('../../log/redact');
  const { openBrowser } = require('../open-browser') as typeof import('../open-browser');
  const params: OAuthLoginParams = { method: 'oauth', timeoutMs: Math.round((argv.timeout ?? 180) * 1000) };
  if (argv['client-id']) params.clientId = argv['client-id'];
  if (argv['client-secret']) params.clientSecret = argv['client-secret'];
  if (argv['redirect-uri']) params.redirectUri = argv['redirect-uri'];
  if (argv.scopes) params.scopes = argv.scopes;
  if (argv.profile) params.profile = argv.profile;
  if (params.timeoutMs! < 1000 || params.timeoutMs! > 3_600_000) throw new UsageError('--timeout must be between 1 and 3600 seconds.');

  const err = (text: string) => process.stderr.write(text);
  let stopCountdown: (() => void) | undefined;
  let lines: readline.Interface | undefined;
  const say = (text: string) => {
    stopCountdown?.();
    err(text);
  };
  try {
    const result = await oauthLogin(chutes, params, {
      signal: run.signal,
      onAuthorizeUrl: async (n: AuthAuthorizeUrl) => {
        err(`Sign in with Chutes: open this address in a browser:\n\n  ${n.url}\n\n`);
        const opened = argv.browser !== false && (await openBrowser(n.url, chutes.config.env));
        if (opened) err('(opened in your browser)\n');
        err(
          n.listening
            ? 'If the browser runs on another machine, sign in there, then paste here the whole address it ends up at and press Enter.\n'
            : `Nothing is listening on ${n.redirectUri} here: after signing in, paste the whole address the browser ends up at (even if it shows an error page) and press Enter.\n`,
        );
        const { createInterface } = require('node:readline') as typeof import('node:readline');
        lines = createInterface({ input: process.stdin, terminal: false });
        lines.on('line', (line) => {
          if (line.trim() === '') return;
          try {
            completeLogin(chutes, n.loginId, line);
            say('redirect accepted; finishing the sign-in…\n');
          } catch (e) {
            say(`chutes-rpc: ${redact(inCliWords((e as Error).message))}\n`);
          }
        });
        stopCountdown = countdown(Date.parse(n.expiresAt));
      },
    });
    stopCountdown?.();
    const who = result.account ? ` as ${result.account.username ?? result.account.sub}` : '';
    process.stdout.write(
      `Signed in${who}: profile ${result.profile}, scopes ${(result.scopes ?? []).join(' ')}, access token valid until ${result.expiresAt} (refreshed automatically).\n`,
    );
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
    process.stderr.write(tty ? `\r\x1b[2K${text}` : `${text}\n`);
  };
  render();
  const timer = setInterval(render, tty ? 1000 : 30_000);
  timer.unref();
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    if (tty) process.stderr.write('\r\x1b[2K');
  };
}
