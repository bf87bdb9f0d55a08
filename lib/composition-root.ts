import * as fs from 'node:fs';
import { ChutesContext, type ChutesSettings } from './chutes/context';
import { loadConfig } from './config/load';
import { locateConfig, resolveHome } from './config/locate';
import type { LogLevel, Logger } from './log/logger';

/** What a process is started with, from serve's or a command's options. */
export interface Settings {
  /** --home; else $CHUTES_RPC_HOME, else ~/.chutes-rpc. */
  home?: string;
  /** --config; else $CHUTES_RPC_CONFIG, else <home>/config.json5 if present. */
  config?: string;
  replay?: string;
  record?: string;
  logLevel?: LogLevel;
}

/** What is wrong with a combination of settings, for a usage error; undefined when they can work. */
export function settingsProblem(settings: Settings): string | undefined {
  if (settings.replay && settings.record) return '--replay and --record cannot be used together';
  if (settings.replay && !fs.existsSync(settings.replay)) return `--replay ${settings.replay}: file not found`;
  return undefined;
}

/** The provider context of one process, as serve and every command build it: home, config file, log level, replay or record. */
export function createChutesContext(settings: Settings, log: Logger): ChutesContext {
  const home = resolveHome(settings.home);
  const configPath = locateConfig(settings.config, home);
  const state = loadConfig(configPath);
  const level = settings.logLevel ?? state.config.logLevel;
  if (level) log.setLevel(level);
  const chutes: ChutesSettings = { home };
  if (configPath) chutes.configPath = configPath;
  if (settings.replay) chutes.replay = settings.replay;
  if (settings.record) chutes.record = settings.record;
  return new ChutesContext(chutes, state, log);
}
