import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Settings } from '../composition-root';
import type { LogLevel } from '../log/logger';

/** Options as a parser gives them, by their command-line names ('log-level'): yargs' argv, or parseServeArgs' result. */
export type ParsedOptions = { readonly [name: string]: unknown };

/** A command line that cannot work: reported as one line, `chutes-rpc: <message>`, exit code 2. */
export class UsageError extends Error {}

const config = { type: 'string', describe: 'config file (JSON5); else $CHUTES_RPC_CONFIG, else <home>/config.json5' } as const;
const home = { type: 'string', describe: 'state directory; else $CHUTES_RPC_HOME, else ~/.chutes-rpc' } as const;
const replay = { type: 'string', describe: 'answer every upstream HTTP call from this cassette (no network)' } as const;
const record = { type: 'string', describe: 'record upstream traffic to this cassette, secrets stripped' } as const;
const logLevel = { type: 'string', choices: ['error', 'warn', 'info', 'debug'], describe: 'stderr log level (default warn)' } as const;

/** The options every command that talks to Chutes shares with serve. */
export const SETTINGS_OPTIONS = { config, home, replay, record, 'log-level': logLevel } as const;

/** The options of `serve`, described once for both the fast start-up parser and yargs' help. */
export const SERVE_OPTIONS = {
  config,
  framing: {
    type: 'string',
    choices: ['auto', 'lsp', 'ndjson'],
    default: 'auto',
    describe: 'message framing; auto decides from the first byte',
  },
  home,
  replay,
  record,
  'log-level': logLevel,
  'on-eof': {
    type: 'string',
    choices: ['cancel', 'wait'],
    default: 'cancel',
    describe: 'at end of input: cancel running requests, or let them finish',
  },
} as const;

/**
 * The settings of a process from its parsed options (serve's or any command's): the one place options
 * become Settings. Throws UsageError for settings that cannot work.
 */
export function settingsFrom(options: ParsedOptions): Settings {
  const text = (name: keyof typeof SERVE_OPTIONS): string | undefined => {
    const v = options[name];
    if (v === '') throw new UsageError(`--${name} needs a value`);
    return typeof v === 'string' ? v : undefined;
  };
  const settings: Settings = {};
  const set = <K extends keyof Settings>(key: K, value: Settings[K] | undefined) => {
    if (value !== undefined) settings[key] = value;
  };
  set('home', text('home'));
  set('config', text('config'));
  set('replay', text('replay'));
  set('record', text('record'));
  set('logLevel', text('log-level') as LogLevel | undefined);
  set('framing', text('framing') as Settings['framing']);
  set('onEof', text('on-eof') as Settings['onEof']);
  const problem = settingsProblem(settings);
  if (problem) throw new UsageError(problem);
  return settings;
}

/** What is wrong with a combination of settings; undefined when they can work. */
function settingsProblem(settings: Settings): string | undefined {
  if (settings.replay && settings.record) return '--replay and --record cannot be used together';
  if (settings.replay) {
    if (!fs.existsSync(settings.replay)) return `--replay ${settings.replay}: file not found`;
    const { readCassette } = require('../chutes/cassette/cassette-file') as typeof import('../chutes/cassette/cassette-file');
    try {
      readCassette(settings.replay);
    } catch (err) {
      return `--replay: ${(err as Error).message}`;
    }
  }
  const { resolveHome } = require('../config/locate') as typeof import('../config/locate');
  const home = resolveHome(settings.home);
  return homeProblem(home, settings.home ? '--home' : process.env.CHUTES_RPC_HOME ? 'CHUTES_RPC_HOME' : 'the home directory');
}

/**
 * Why `home` cannot be the state directory, checked before anything tries to create it: a path
 * through a regular file gives a raw ENOTDIR or EEXIST later, and Node 20's recursive mkdirSync
 * loops forever under a read-only pseudo file system such as /proc.
 */
export function homeProblem(home: string, named: string): string | undefined {
  let missing: string | undefined;
  let at = home;
  for (;;) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') return `${named} ${home}: ${path.dirname(at)} is not a directory`;
      if (code !== 'ENOENT') return `${named} ${home}: cannot be used (${code})`;
    }
    if (stat) {
      if (!stat.isDirectory()) return `${named} ${home}: ${at} is a file, not a directory`;
      break;
    }
    missing = at;
    const up = path.dirname(at);
    if (up === at) break;
    at = up;
  }
  if (!missing) return undefined;
  // Creating (then removing) the first missing directory is the one check every file system answers truthfully.
  try {
    fs.mkdirSync(missing);
    fs.rmdirSync(missing);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'ENOENT' || code === 'EROFS'
          ? 'the file system there does not allow new directories'
          : code;
    return `${named} ${home}: cannot create ${missing} (${why})`;
  }
  return undefined;
}

/**
 * Parses `serve` arguments without loading yargs (which would double the start-up time of the
 * process hosts spawn), nor node:util's parseArgs (~0.9 ms): every serve option takes a string,
 * as `--name value` or `--name=value`. Returns undefined for anything else, so that yargs handles
 * it and prints its usual help or error.
 */
export function parseServeArgs(argv: string[]): ParsedOptions | undefined {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) return undefined;
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (!Object.hasOwn(SERVE_OPTIONS, name)) return undefined;
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq < 0 && value.startsWith('-'))) return undefined;
    const spec = SERVE_OPTIONS[name as keyof typeof SERVE_OPTIONS];
    if ('choices' in spec && !(spec.choices as readonly string[]).includes(value)) return undefined;
    values[name] = value;
  }
  return values;
}
