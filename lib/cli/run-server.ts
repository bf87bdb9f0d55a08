import * as fs from 'node:fs';
import { resolveHome } from '../config/locate';
import { log } from '../log/logger';
import type { ServeArgs } from './serve-options';

export function runServer(args: ServeArgs): void {
  if (args.replay && !fs.existsSync(args.replay)) {
    process.stderr.write(`chutes-rpc: --replay ${args.replay}: file not found\n`);
    process.exit(2);
  }
  if (args.replay && args.record) {
    process.stderr.write('chutes-rpc: --replay and --record cannot be used together\n');
    process.exit(2);
  }
  const { serve } = require('../server/server') as typeof import('../server/server');
  const opts: Parameters<typeof serve>[0] = { home: resolveHome(args.home), framing: args.framing, onEof: args.onEof };
  if (args.config) opts.config = args.config;
  if (args.replay) opts.replay = args.replay;
  if (args.record) opts.record = args.record;
  if (args.logLevel) opts.logLevel = args.logLevel;
  serve(opts, log);
}
