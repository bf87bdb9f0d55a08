import type { CommandModule } from 'yargs';
import { type CommonArgs, COMMON_OPTIONS } from './auth-options';

export const statusCommand: CommandModule<object, CommonArgs & { profile?: string; json?: boolean }> = {
  command: 'status',
  describe: 'which credential calls would use (never shows a secret); exit code 1 when none is usable',
  builder: (y) =>
    y.options({
      profile: { type: 'string', describe: 'report this stored profile' },
      json: { type: 'boolean', describe: 'print the auth.status result as JSON' },
      ...COMMON_OPTIONS,
    } as unknown as Record<string, object>) as never,
  handler: (argv) => (require('../auth-cli') as typeof import('../auth-cli')).runStatus(argv),
};
