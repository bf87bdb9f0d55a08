import type { CommandModule } from 'yargs';
import { type CommandRun, runCommand } from '../command-runner';
import { SETTINGS_OPTIONS } from '../settings';

interface LogoutArgs {
  profile?: string;
}

export const logoutCommand: CommandModule<object, LogoutArgs> = {
  command: 'logout',
  describe: 'revoke the stored sign-in (best effort) and remove the stored credential',
  builder: (y) =>
    y.options({
      profile: { type: 'string', describe: 'the profile to remove (default: the stored one calls would use)' },
      ...SETTINGS_OPTIONS,
    } as unknown as Record<string, object>),
  handler: (argv) => runCommand(argv, (run) => logOut(run, argv)),
};

async function logOut(run: CommandRun, argv: LogoutArgs): Promise<void> {
  const chutes = run.chutes();
  chutes.requireConfig();
  const { logout } = require('../../chutes/logout') as typeof import('../../chutes/logout');
  const r = await logout(chutes, argv.profile ? { profile: argv.profile } : {});
  const out = (text: string) => process.stdout.write(text);
  if (argv.profile && !r.removed) {
    const stored = Object.keys(chutes.store.read().profiles);
    throw new Error(`nothing is stored under the profile ${argv.profile} (stored profiles: ${stored.length ? stored.join(', ') : 'none'})`);
  }
  if (!r.profile || !r.removed) out('Nothing stored to log out of.\n');
  else if (r.revoked === undefined) out(`Removed profile ${r.profile}.\n`);
  else
    out(
      `Logged out of profile ${r.profile}${r.revoked ? ' (tokens revoked)' : ' (the IdP did not confirm revoking the tokens; they were removed here)'}.\n`,
    );
}
