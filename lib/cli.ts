import { tryServe } from './cli/serve-entry';

/** Entry point: `serve` starts without yargs; every other command goes through yargs. */
export function main(argv: string[]): void {
  if (tryServe(argv)) return;
  const { runCommands } = require('./cli/commands') as typeof import('./cli/commands');
  void runCommands(argv);
}
