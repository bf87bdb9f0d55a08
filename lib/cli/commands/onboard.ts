import type { CommandModule } from 'yargs';
import { type LoginArgs, LOGIN_OPTIONS } from './auth-options';

export const onboardCommand: CommandModule<object, LoginArgs> = {
  command: 'onboard',
  describe: 'set up a credential: --auth-choice chutes-api-key (store an API key) or --auth-choice chutes (Sign in with Chutes)',
  builder: (y) => y.options(LOGIN_OPTIONS as unknown as Record<string, object>) as never,
  handler: (argv) => (require('../auth-cli') as typeof import('../auth-cli')).runLogin(argv),
};
