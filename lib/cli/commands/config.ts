import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { checkConfigFile } from '../../config/load';

export const configCommand: CommandModule = {
  command: 'config <action>',
  describe: 'work with config files',
  builder: (y) =>
    y
      .demandCommand(1, 'Give an action: chutes-rpc config validate FILE')
      .command({
      command: 'validate <file>',
      describe: 'check a config file; prints each problem (file, path, message); exit code 1 if any',
      builder: (yy) => yy.positional('file', { type: 'string', demandOption: true }),
      handler: (argv) => {
        const file = path.resolve(String(argv.file));
        const { problems } = checkConfigFile(file);
        if (problems.length === 0) {
          process.stdout.write(`${file}: valid\n`);
          return;
        }
        for (const p of problems) process.stdout.write(`${file}: ${p.path || '(root)'}: ${p.message}\n`);
        process.stdout.write(`${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
        process.exitCode = 1;
      },
    }),
  handler: () => undefined,
};
