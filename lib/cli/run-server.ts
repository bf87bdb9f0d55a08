import { settingsProblem } from '../create-app';
import { log } from '../log/logger';
import type { ServeArgs } from './serve-options';

export function runServer(args: ServeArgs): void {
  const problem = settingsProblem(args);
  if (problem) {
    process.stderr.write(`chutes-rpc: ${problem}\n`);
    process.exit(2);
  }
  const { serve } = require('../server/server') as typeof import('../server/server');
  serve(args, log);
}
