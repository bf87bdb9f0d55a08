import type { CommandModule } from 'yargs';

export const demoCommand: CommandModule = {
  command: 'demo',
  describe: 'a scripted host session on recorded traffic (no network, no account): discovery, streaming chat, a tool call, a cancellation',
  handler: async () => {
    const { runDemo } = require('../../demo/demo') as typeof import('../../demo/demo');
    process.exitCode = await runDemo();
  },
};
