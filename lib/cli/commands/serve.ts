import type { CommandModule } from 'yargs';
import { runServer } from '../run-server';
import { type ServeArgs, SERVE_OPTIONS } from '../serve-options';

export const serveCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'serve',
  describe: 'speak JSON-RPC 2.0 on stdin/stdout (the default when stdin is not a terminal)',
  builder: (y) => y.options(SERVE_OPTIONS as unknown as Record<string, object>),
  handler: (argv) => {
    const args: ServeArgs = { framing: argv.framing as ServeArgs['framing'], onEof: argv['on-eof'] as ServeArgs['onEof'] };
    for (const k of ['config', 'home', 'replay', 'record'] as const) if (typeof argv[k] === 'string') args[k] = argv[k] as string;
    if (typeof argv['log-level'] === 'string') args.logLevel = argv['log-level'] as ServeArgs['logLevel'];
    runServer(args);
  },
};
