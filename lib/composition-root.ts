import { ChutesContext, type ChutesSettings } from './chutes/context';
import { loadConfig } from './config/load';
import { locateConfig, resolveHome } from './config/locate';
import type { LogLevel, Logger } from './log/logger';
import type { Framing } from './server/framing/frame-decoder';

/** What a process is started with, from serve's or a command's options (lib/cli/settings.ts makes them). */
export interface Settings {
  /** --home; else $CHUTES_RPC_HOME, else ~/.chutes-rpc. */
  home?: string;
  /** --config; else $CHUTES_RPC_CONFIG, else <home>/config.json5 if present. */
  config?: string;
  replay?: string;
  record?: string;
  logLevel?: LogLevel;
  /** serve only: message framing (default auto). */
  framing?: 'auto' | Framing;
  /** serve only: at end of input, cancel running requests or let them finish (default cancel). */
  onEof?: 'cancel' | 'wait';
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
