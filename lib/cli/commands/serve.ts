import type { CommandModule } from 'yargs';
import { SERVE_OPTIONS } from '../settings';

export const serveCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'serve',
  describe: 'speak JSON-RPC 2.0 on stdin/stdout (the default when stdin is not a terminal)',
  builder: (y) => y.options(SERVE_OPTIONS as unknown as Record<string, object>),
  handler: (argv) => (require('../run-server') as typeof import('../run-server')).startServer(argv),
};
