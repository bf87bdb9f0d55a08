import type { CommandModule } from 'yargs';
import { type CommonArgs, COMMON_OPTIONS } from './auth-options';

export const logoutCommand: CommandModule<object, CommonArgs & { profile?: string }> = {
  command: 'logout',
  describe: 'revoke the stored sign-in (best effort) and remove the stored credential',
  builder: (y) =>
    y.options({
      profile: { type: 'string', describe: 'the profile to remove (default: the stored one calls would use)' },
      ...COMMON_OPTIONS,
    } as unknown as Record<string, object>) as never,
  handler: (argv) => (require('../auth-cli') as typeof import('../auth-cli')).runLogout(argv),
};
