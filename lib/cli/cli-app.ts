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
