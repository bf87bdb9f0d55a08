import type { CommandModule } from 'yargs';
import { type LoginArgs, LOGIN_OPTIONS } from './auth-options';

export const loginCommand: CommandModule<object, LoginArgs> = {
  command: 'login',
  describe: 'Sign in with Chutes in the browser (OAuth with PKCE); --auth-choice chutes-api-key stores an API key instead',
  builder: (y) => y.options({ ...LOGIN_OPTIONS, 'auth-choice': { ...LOGIN_OPTIONS['auth-choice'], default: 'chutes' } } as unknown as Record<string, object>) as never,
  handler: (argv) => (require('../auth-cli') as typeof import('../auth-cli')).runLogin(argv),
};
