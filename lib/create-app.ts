import * as fs from 'node:fs';
import { App, type AppOptions } from './app';
import { loadConfig } from './config/load';
import { locateConfig, resolveHome } from './config/locate';
import type { LogLevel, Logger } from './log/logger';

export interface AppSettings {
  /** --home; else $CHUTES_RPC_HOME, else ~/.chutes-rpc. */
  home?: string;
  /** --config; else $CHUTES_RPC_CONFIG, else <home>/config.json5 if present. */
  config?: string;
  replay?: string;
  record?: string;
  logLevel?: LogLevel;
}

/** What is wrong with a combination of settings, for a usage error; undefined when they can work. */
export function settingsProblem(settings: AppSettings): string | undefined {
  if (settings.replay && settings.record) return '--replay and --record cannot be used together';
  if (settings.replay && !fs.existsSync(settings.replay)) return `--replay ${settings.replay}: file not found`;
  return undefined;
}

/** The App of one process, as serve and every command build it: home, config file, log level, replay or record. */
export function createApp(settings: AppSettings, log: Logger): App {
  const home = resolveHome(settings.home);
  const configPath = locateConfig(settings.config, home);
  const state = loadConfig(configPath);
  const level = settings.logLevel ?? state.config.logLevel;
  if (level) log.setLevel(level);
  const options: AppOptions = { home };
  if (configPath) options.configPath = configPath;
  if (settings.replay) options.replay = settings.replay;
  if (settings.record) options.record = settings.record;
  return new App(options, state, log);
}
