import type { ChutesContext } from '../chutes/context';
import type { LogLevel } from '../log/logger';
import { SERVE_OPTIONS } from './serve-options';

/** The options every command that talks to Chutes shares with serve. */
export const COMMON_OPTIONS = (({ config, home, replay, record, 'log-level': logLevel }) => ({
  config,
  home,
  replay,
  record,
  'log-level': logLevel,
}))(SERVE_OPTIONS) as unknown as Record<string, object>;

export interface CommonArgs {
  config?: string;
  home?: string;
  replay?: string;
  record?: string;
  'log-level'?: LogLevel;
}

export class CliUsageError extends Error {}

/**
 * An ChutesContext for a one-shot command, configured like serve from the common options. Throws
 * CliUsageError for options that cannot work together.
 */
export function createCliApp(argv: CommonArgs): ChutesContext {
  const { createChutesContext, settingsProblem } = require('../composition-root') as typeof import('../composition-root');
  const { log } = require('../log/logger') as typeof import('../log/logger');
  const settings: import('../composition-root').Settings = {};
  if (argv.home) settings.home = argv.home;
  if (argv.config) settings.config = argv.config;
  if (argv.replay) settings.replay = argv.replay;
  if (argv.record) settings.record = argv.record;
  if (argv['log-level']) settings.logLevel = argv['log-level'];
  const problem = settingsProblem(settings);
  if (problem) throw new CliUsageError(problem);
  return createChutesContext(settings, log);
}

/** All of stdin as UTF-8 text (decoded once at the end, so no character is split). */
export function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => parts.push(c));
    process.stdin.once('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    process.stdin.once('error', reject);
  });
}

/** `cmd | head` closing our output early is not an error. */
export function exitQuietlyOnEpipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
