import type { ChutesContext } from '../chutes/context';
import type { LogLevel } from '../log/logger';
import { type ParsedOptions, SETTINGS_OPTIONS, settingsFrom } from './settings';

export { UsageError as CliUsageError } from './settings';

/** The options every command that talks to Chutes shares with serve. */
export const COMMON_OPTIONS = SETTINGS_OPTIONS as unknown as Record<string, object>;

export interface CommonArgs {
  config?: string;
  home?: string;
  replay?: string;
  record?: string;
  'log-level'?: LogLevel;
}

/** An ChutesContext for a one-shot command, from its settings. Throws CliUsageError for settings that cannot work. */
export function createCliApp(argv: CommonArgs): ChutesContext {
  const { createChutesContext } = require('../composition-root') as typeof import('../composition-root');
  const { log } = require('../log/logger') as typeof import('../log/logger');
  return createChutesContext(settingsFrom(argv as ParsedOptions), log);
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
