import { createChutesContext, type Settings } from '../composition-root';
import { log } from '../log/logger';
import { type ParsedOptions, SERVE_OPTIONS, settingsFrom, UsageError } from './settings';

/**
 * Starts `serve` from its parsed options (the fast parser's or yargs'). Serve does not go through the
 * command runner: lib/server owns its signals, end of input and shutdown. A usage error is reported
 * as the runner reports it: one line, exit code 2.
 */
export function startServer(options: ParsedOptions): void {
  let settings: Settings;
  try {
    settings = settingsFrom(options);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`chutes-rpc: ${err.message}\n`);
    process.exit(2);
  }
  runServer(settings);
}

/**
 * How far V8 lets the heap grow past what was alive at the last full GC before it collects again,
 * in percent. Its own factor goes up to 4x: a burst (thousands of streams answered at once, most of
 * what they allocate garbage a moment later) then peaked near 550 MB of RSS with ~120 MB alive;
 * at 1.25x it stays under 400 MB (bench/memory.bench.js), and steady streaming, whose old
 * generation barely grows, pays no measurable CPU for it (bench/cpu-per-delta.bench.js). V8 reads
 * it at each limit it computes, so it can be set after start-up, where a host cannot pass flags.
 */
const HEAP_GROWING_PERCENT = 25;

/** The composition root of `serve`: the provider context, the method table, and the generic server. */
function runServer(settings: Settings): void {
  (require('node:v8') as typeof import('node:v8')).setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const { serve } = require('../server/server') as typeof import('../server/server');
  const { methodTable, messageEncoders } = require('../methods') as typeof import('../methods');
  const chutes = createChutesContext(settings, log);
  const { config, problems, warnings } = chutes.configState;
  for (const p of [...problems, ...(warnings ?? [])]) log.warn(`config ${config.path ?? ''} ${p.path || '(root)'}: ${p.message}`);
  const framing = settings.framing ?? SERVE_OPTIONS.framing.default;
  const onEof = settings.onEof ?? SERVE_OPTIONS['on-eof'].default;
  serve({ framing, onEof, maxMessageBytes: config.maxMessageBytes }, log, (server) => ({
    methods: methodTable(chutes, server),
    messageEncoders,
    close: () => chutes.close(),
  }));
}
