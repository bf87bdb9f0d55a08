import type { CommandModule } from 'yargs';
import { type CommandRun, runCommand } from '../command-runner';
import { UsageError } from '../settings';
import { type AuthChoice, type LoginArgs, LOGIN_OPTIONS } from './auth-options';
import { signIn } from './login';

export const onboardCommand: CommandModule<object, LoginArgs> = {
  command: 'onboard',
  describe: 'set up a credential: --auth-choice chutes-api-key (store an API key) or --auth-choice chutes (Sign in with Chutes)',
  builder: (y) => y.options(LOGIN_OPTIONS as unknown as Record<string, object>),
  handler: (argv) => runCommand(argv, (run) => onboard(run, argv)),
};

async function onboard(run: CommandRun, argv: LoginArgs): Promise<number> {
  run.chutes().requireConfig();
  let choice = argv['auth-choice'];
  if (!choice) {
    if (!interactive(argv))
      throw new UsageError('Give --auth-choice chutes-api-key (an API key) or --auth-choice chutes (Sign in with Chutes).');
    choice = await askChoice();
  }
  return choice === 'chutes-api-key' ? storeApiKey(run, argv) : signIn(run, argv);
}

const interactive = (argv: LoginArgs) => !argv['non-interactive'] && !!process.stdin.isTTY;

async function askChoice(): Promise<AuthChoice> {
  const { ask } = require('../prompts') as typeof import('../prompts');
  process.stderr.write(
    'How do you want to authenticate with Chutes?\n  1) an API key (cpk_...)\n  2) Sign in with Chutes in the browser\n',
  );
  return ask<AuthChoice>('Choose 1 or 2 [1]: ', (a) => (a === '' || a === '1' ? 'chutes-api-key' : a === '2' ? 'chutes' : undefined));
}

/** Stores an API key (from the option, $CHUTES_API_KEY, the terminal or piped stdin), verified unless --no-verify. */
export async function storeApiKey(run: CommandRun, argv: LoginArgs): Promise<number> {
  const chutes = run.chutes();
  chutes.requireConfig();
  const { askHidden, firstLine } = require('../prompts') as typeof import('../prompts');
  let key = argv['chutes-api-key']?.trim() || chutes.config.env.CHUTES_API_KEY?.trim();
  if (!key && !argv['non-interactive']) {
    key = interactive(argv) ? await askHidden('Chutes API key (cpk_..., input hidden): ') : await firstLine(process.stdin);
  }
  if (!key) {
    throw new UsageError(
      argv['non-interactive']
        ? 'No API key: give --chutes-api-key or set CHUTES_API_KEY (--non-interactive never asks).'
        : 'No API key was given.',
    );
  }
  const { apiKeyLogin } = require('../../chutes/api-key') as typeof import('../../chutes/api-key');
  const params: Parameters<typeof apiKeyLogin>[1] = { method: 'apiKey', apiKey: key, verify: argv.verify !== false };
  if (argv.profile) params.profile = argv.profile;
  const r = await apiKeyLogin(chutes, params, run.signal).catch((err: unknown) => {
    throw params.verify ? suggestNoVerify(err) : err;
  });
  process.stdout.write(
    `Stored the API key as profile ${r.profile}${r.verified ? ' (verified: Chutes accepted it)' : ' (not verified)'}.\n`,
  );
  return 0;
}

/** A key that could not be checked (no network, a timeout) can still be stored: say how. */
function suggestNoVerify(err: unknown): unknown {
  const { ChutesError } = require('../../chutes/errors') as typeof import('../../chutes/errors');
  if (!(err instanceof ChutesError) || err.type !== 'network_error') return err;
  return new ChutesError(err.type, {
    ...err.data,
    message: `could not check the API key with Chutes: ${err.message}`,
    resolution: `${err.data.resolution} Or store the key unchecked: add --no-verify.`,
    cause: err,
  });
}
