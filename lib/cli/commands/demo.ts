import type { CommandModule } from 'yargs';
import { runCommand } from '../command-runner';

export const demoCommand: CommandModule = {
  command: 'demo',
  describe: 'a scripted host session on recorded traffic (no network, no account): discovery, streaming chat, a tool call, a cancellation',
  handler: (argv) =>
    runCommand(argv, async (run) => {
      const { runDemo } = require('../../demo/demo') as typeof import('../../demo/demo');
      const signal = run.signal;
      const code = await runDemo({ signal });
      // Stopped half way (Ctrl-C, stdout closed): the runner reports it, whatever the session made of it.
      return signal.aborted ? 0 : code;
    }),
};
