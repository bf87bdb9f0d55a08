import type { CommandModule } from 'yargs';
import type { AuthStatusResult } from '../../generated/types';
import { type CommandRun, runCommand } from '../command-runner';
import { SETTINGS_OPTIONS } from '../settings';

interface StatusArgs {
  profile?: string;
  json?: boolean;
}

export const statusCommand: CommandModule<object, StatusArgs> = {
  command: 'status',
  describe: 'which credential calls would use (never shows a secret); exit code 1 when none is usable',
  builder: (y) =>
    y.options({
      profile: { type: 'string', describe: 'report this stored profile' },
      json: { type: 'boolean', describe: 'print the auth.status result as JSON' },
      ...SETTINGS_OPTIONS,
    } as unknown as Record<string, object>),
  handler: (argv) => runCommand(argv, (run) => status(run, argv)),
};

async function status(run: CommandRun, argv: StatusArgs): Promise<number> {
  const chutes = run.chutes();
  chutes.requireConfig();
  const { statusOf } = require('../../chutes/auth-status') as typeof import('../../chutes/auth-status');
  const r = await statusOf(chutes, argv.profile ? { profile: argv.profile } : {}, run.signal);
  process.stdout.write(argv.json ? `${JSON.stringify(r, null, 2)}\n` : describeStatus(r));
  return r.authenticated ? 0 : 1;
}

/** Where the credential in use comes from, in words: "the API key in the config file". */
function credentialWords(r: AuthStatusResult): string | undefined {
  if (r.method === 'oauth') return r.source === 'profile' ? 'Sign in with Chutes (the profile asked for)' : 'Sign in with Chutes';
  if (r.method !== 'apiKey') return undefined;
  if (r.source === 'config') return 'the API key in the config file';
  if (r.source === 'env') return 'the API key in CHUTES_API_KEY';
  if (r.source === 'store') return 'a stored API key';
  if (r.source === 'profile') return 'the API key of the profile asked for';
  return 'an API key';
}

function describeStatus(r: AuthStatusResult): string {
  const lines: string[] = [];
  const what = credentialWords(r);
  if (r.authenticated) lines.push(`authenticated: yes, with ${what}`);
  else if (what) lines.push(`authenticated: no (${what} is not usable)`);
  else lines.push('authenticated: no');
  if (r.profile) lines.push(`profile: ${r.profile}`);
  if (r.account) lines.push(`account: ${r.account.username ?? '(no username)'} (sub ${r.account.sub})`);
  if (r.scopes) lines.push(`scopes: ${r.scopes.join(' ')}`);
  if (r.expiresAt) lines.push(`access token valid until: ${r.expiresAt}`);
  if (r.profiles) lines.push(`stored profiles: ${r.profiles.length ? r.profiles.join(', ') : 'none'}`);
  if (r.problem) lines.push(`problem: ${r.problem}`);
  if (!r.authenticated && !r.problem)
    lines.push('Log in: chutes-rpc onboard --auth-choice chutes-api-key, or chutes-rpc login (Sign in with Chutes).');
  return `${lines.join('\n')}\n`;
}
