import * as fs from 'node:fs';
import type { App } from '../app';
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
 * An App for a one-shot command, configured like serve from the common options. Throws
 * CliUsageError for options that cannot work together.
 */
export function createCliApp(argv: CommonArgs): App {
  if (argv.replay && argv.record) throw new CliUsageError('--replay and --record cannot be used together');
  if (argv.replay && !fs.existsSync(argv.replay)) throw new CliUsageError(`--replay ${argv.replay}: file not found`);
  const { resolveHome, locateConfig } = require('../config/locate') as typeof import('../config/locate');
  const { loadConfig } = require('../config/load') as typeof import('../config/load');
  const { App } = require('../app') as typeof import('../app');
  const { log } = require('../log/logger') as typeof import('../log/logger');
  const home = resolveHome(argv.home);
  const configPath = locateConfig(argv.config, home);
  const state = loadConfig(configPath);
  const level = argv['log-level'] ?? state.config.logLevel;
  if (level) log.setLevel(level);
  const options: import('../app').AppOptions = { home };
  if (configPath) options.configPath = configPath;
  if (argv.replay) options.replay = argv.replay;
  if (argv.record) options.record = argv.record;
  return new App(options, state, log);
}

/** `cmd | head` closing our output early is not an error. */
export function exitQuietlyOnEpipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}
