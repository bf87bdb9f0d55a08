import type { CommandModule } from 'yargs';
import { runCommand } from '../command-runner';

export const demoCommand: CommandModule = {
  command: 'demo',
  describe: 'a scripted host session on recorded traffic (no network, no account): discovery, streaming chat, a tool call, a cancellation',
  handler: (argv) =>
    runCommand(argv, () => {
      const { runDemo } = require('../../demo/demo') as typeof import('../../demo/demo');
      return runDemo();
    }),
};
