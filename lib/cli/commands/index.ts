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
import { missingValue, usageHint } from '../usage';

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

/**
 * Parses and runs a command line. Usage errors, yargs' own included, follow one convention:
 * `chutes-rpc: <problem>` on one line, a hint to --help, exit code 2, nothing else run.
 */
export async function runCommands(argv: string[]): Promise<void> {
  const yargs = (require('yargs/yargs') as (args: string[]) => Argv)(argv);
  const names = commands.map((c) => String(c.command).split(' ')[0]!);
  const refuse = (problem: string): never => {
    process.stderr.write(`chutes-rpc: ${problem}\n${usageHint(argv, names)}\n`);
    process.exit(2);
  };
  let cli = yargs
    .scriptName('chutes-rpc')
    .usage('$0 <command> [options]\n\nChutes AI inference for any program: JSON-RPC 2.0 on stdio, and shell commands.')
    // Only the names as written: an unknown --bogus-flag is then reported once, not also as bogusFlag.
    .parserConfiguration({ 'camel-case-expansion': false })
    .strict()
    .demandCommand(1, 'give a command; `chutes-rpc serve` speaks JSON-RPC on stdin/stdout')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(require('../../../package.json').version)
    .showHelpOnFail(false)
    .fail((message: string | undefined, err: Error | undefined) =>
      refuse(yargsProblem(message ?? err?.message ?? 'invalid command line', argv)),
    )
    .middleware(((parsed: Record<string, unknown>, y: Argv) => {
      const problem = missingValue(parsed, (y as unknown as { getOptions(): Parameters<typeof missingValue>[1] }).getOptions());
      if (problem) refuse(problem);
    }) as never)
    .wrap(Math.min(110, process.stdout.columns || 100));
  for (const c of commands) cli = cli.command(c);
  await cli.parseAsync();
}

/** The actions of the commands that have some, for the message when none is given. */
const ACTIONS: Readonly<Record<string, string>> = { models: 'list', config: 'validate FILE' };

/** yargs' message in the project's words: one line, lower case. */
function yargsProblem(text: string, argv: readonly string[]): string {
  const line = text.trim().split('\n')[0]!;
  if (/^Did you mean /.test(line)) return `unknown command ${argv[0]} (${line.charAt(0).toLowerCase()}${line.slice(1)})`;
  if (/^Not enough non-option arguments/.test(line)) {
    const action = argv[0] ? ACTIONS[argv[0]] : undefined;
    return action ? `give an action: chutes-rpc ${argv[0]} ${action}` : 'give a command';
  }
  return line.charAt(0).toLowerCase() + line.slice(1);
}
