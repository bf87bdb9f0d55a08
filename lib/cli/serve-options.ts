import { parseArgs } from 'node:util';
import type { LogLevel } from '../log/logger';
import type { Framing } from '../server/framing/frame-decoder';

/** The options of `serve`, described once for both the fast start-up parser and yargs' help. */
export const SERVE_OPTIONS = {
  config: { type: 'string', describe: 'config file (JSON5); else $CHUTES_RPC_CONFIG, else <home>/config.json5' },
  framing: { type: 'string', choices: ['auto', 'lsp', 'ndjson'], default: 'auto', describe: 'message framing; auto decides from the first byte' },
  home: { type: 'string', describe: 'state directory; else $CHUTES_RPC_HOME, else ~/.chutes-rpc' },
  replay: { type: 'string', describe: 'answer every upstream HTTP call from this cassette (no network)' },
  record: { type: 'string', describe: 'record upstream traffic to this cassette, secrets stripped' },
  'log-level': { type: 'string', choices: ['error', 'warn', 'info', 'debug'], describe: 'stderr log level (default warn)' },
  'on-eof': { type: 'string', choices: ['cancel', 'wait'], default: 'cancel', describe: 'at end of input: cancel running requests, or let them finish' },
} as const;

export interface ServeArgs {
  config?: string;
  framing: 'auto' | Framing;
  home?: string;
  replay?: string;
  record?: string;
  logLevel?: LogLevel;
  onEof: 'cancel' | 'wait';
}

/**
 * Parses `serve` arguments without loading yargs (which would double the start-up time of the
 * process hosts spawn). Returns undefined for anything it does not fully understand, so that
 * yargs handles it and prints its usual help or error.
 */
export function parseServeArgs(argv: string[]): ServeArgs | undefined {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(SERVE_OPTIONS).map((k) => [k, { type: 'string' as const }]));
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch {
    return undefined;
  }
  for (const [name, spec] of Object.entries(SERVE_OPTIONS)) {
    const v = values[name];
    if (v !== undefined && 'choices' in spec && !(spec.choices as readonly string[]).includes(String(v))) return undefined;
  }
  const s = (k: string) => values[k] as string | undefined;
  const out: ServeArgs = { framing: (s('framing') ?? 'auto') as ServeArgs['framing'], onEof: (s('on-eof') ?? 'cancel') as ServeArgs['onEof'] };
  if (s('config')) out.config = s('config')!;
  if (s('home')) out.home = s('home')!;
  if (s('replay')) out.replay = s('replay')!;
  if (s('record')) out.record = s('record')!;
  if (s('log-level')) out.logLevel = s('log-level') as LogLevel;
  return out;
}
