import { startServer } from './run-server';
import { parseServeArgs } from './settings';

/**
 * Starts the server when `argv` asks for it: `serve ...`, or bare `chutes-rpc` (options only)
 * with stdin not a terminal. Returns false for anything else, which the yargs commands handle
 * (including `serve` options it does not understand, so yargs can explain them).
 */
export function tryServe(argv: string[]): boolean {
  const bare = (argv.length === 0 || argv[0]!.startsWith('-')) && !argv.includes('--help') && !argv.includes('--version');
  const serveArgv = argv[0] === 'serve' ? argv.slice(1) : bare && !process.stdin.isTTY ? argv : undefined;
  if (!serveArgv) return false;
  const options = parseServeArgs(serveArgv);
  if (!options) return false;
  startServer(options);
  return true;
}
