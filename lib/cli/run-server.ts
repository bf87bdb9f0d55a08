import { createChutesContext, settingsProblem } from '../composition-root';
import { log } from '../log/logger';
import type { ServeArgs } from './serve-options';

/** The composition root of `serve`: the provider context, the method table, and the generic server. */
export function runServer(args: ServeArgs): void {
  const problem = settingsProblem(args);
  if (problem) {
    process.stderr.write(`chutes-rpc: ${problem}\n`);
    process.exit(2);
  }
  const { serve } = require('../server/server') as typeof import('../server/server');
  const { methodTable } = require('../methods') as typeof import('../methods');
  const chutes = createChutesContext(args, log);
  const { config, problems } = chutes.configState;
  for (const p of problems) log.warn(`config ${config.path ?? ''} ${p.path || '(root)'}: ${p.message}`);
  serve({ framing: args.framing, onEof: args.onEof, maxMessageBytes: config.maxMessageBytes }, log, (server) => ({
    methods: methodTable(chutes, server),
    close: () => chutes.close(),
  }));
}
