import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { runCommand } from '../command-runner';

export const configCommand: CommandModule = {
  command: 'config <action>',
  describe: 'work with config files',
  builder: (y) =>
    y.demandCommand(1, 'Give an action: chutes-rpc config validate FILE').command<{ file: string }>({
      command: 'validate <file>',
      describe: 'check a config file; prints each problem (file, path, message); exit code 1 if any',
      builder: (yy) => yy.positional('file', { type: 'string', demandOption: true }),
      handler: (argv) => runCommand(argv, async () => validate(path.resolve(String(argv.file)))),
    }),
  handler: () => undefined,
};

async function validate(file: string): Promise<number> {
  const { checkConfigFile, validationProblems } = require('../../config/load') as typeof import('../../config/load');
  const problems = validationProblems(checkConfigFile(file));
  if (problems.length === 0) {
    process.stdout.write(`${file}: valid\n`);
    return 0;
  }
  for (const p of problems) process.stdout.write(`${file}: ${p.path || '(root)'}: ${p.message}\n`);
  process.stdout.write(`${problems.length} problem${problems.length === 1 ? '' : 's'}\n`);
  return 1;
}
