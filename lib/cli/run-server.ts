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

/** The composition root of `serve`: the provider context, the method table, and the generic server. */
function runServer(settings: Settings): void {
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
