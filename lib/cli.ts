import { parseServeArgs } from './cli/serve-options';
import { runServer } from './cli/run-server';

/**
 * Entry point. `serve` (and bare `chutes-rpc` with piped stdin) starts on a fast path without
 * yargs; every other command goes through yargs.
 */
export function main(argv: string[]): void {
  const bare = (argv.length === 0 || argv[0]!.startsWith('-')) && !argv.includes('--help') && !argv.includes('--version');
  const serveArgv = argv[0] === 'serve' ? argv.slice(1) : bare && !process.stdin.isTTY ? argv : undefined;
  if (serveArgv) {
    const parsed = parseServeArgs(serveArgv);
    if (parsed) return runServer(parsed);
  }
  const { runCommands } = require('./cli/commands') as typeof import('./cli/commands');
  void runCommands(argv);
}
