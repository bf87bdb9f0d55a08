import type { Argv, CommandModule } from 'yargs';
import { chatCommand } from './chat';
import { callCommand } from './call';
import { configCommand } from './config';
import { demoCommand } from './demo';
import { loginCommand } from './login';
import { logoutCommand } from './logout';
import { conformanceCommand } from './conformance';
import { modelsCommand } from './models';
import { onboardCommand } from './onboard';
import { serveCommand } from './serve';
import { statusCommand } from './status';
import { teeCommand } from './tee';

/** Every yargs command; each module stays small and loads its heavy parts when it runs. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command has its own argv type; yargs takes them all
export const commands: CommandModule<any, any>[] = [
  serveCommand,
  callCommand,
  configCommand,
  conformanceCommand,
  demoCommand,
  modelsCommand,
  chatCommand,
  onboardCommand,
  loginCommand,
  logoutCommand,
  statusCommand,
  teeCommand,
];

export async function runCommands(argv: string[]): Promise<void> {
  const yargs = (require('yargs/yargs') as (args: string[]) => Argv)(argv);
  let cli = yargs
    .scriptName('chutes-rpc')
    .usage('$0 <command> [options]\n\nChutes AI inference for any program: JSON-RPC 2.0 on stdio, and shell commands.')
    .strict()
    .demandCommand(1, 'Give a command; `chutes-rpc serve` speaks JSON-RPC on stdin/stdout.')
    .recommendCommands()
    .help()
    .version(require('../../../package.json').version)
    .wrap(Math.min(110, process.stdout.columns || 100));
  for (const c of commands) cli = cli.command(c);
  await cli.parseAsync();
}
