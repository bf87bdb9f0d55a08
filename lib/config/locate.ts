import * as fs from 'node:fs';
import * as path from 'node:path';

/** The home directory: --home, else $CHUTES_RPC_HOME, else ~/.chutes-rpc. */
export function resolveHome(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(flag ?? env.CHUTES_RPC_HOME ?? path.join(userHome(), '.chutes-rpc'));
}

/** os.homedir(), which on POSIX is $HOME when set: node:os is loaded only when it is not. */
function userHome(): string {
  const home = process.platform === 'win32' ? undefined : process.env.HOME;
  return home || (require('node:os') as typeof import('node:os')).homedir();
}

/** The config file: --config, else $CHUTES_RPC_CONFIG, else <home>/config.json5 if present, else none (defaults). */
export function locateConfig(flag: string | undefined, home: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (flag) return path.resolve(flag);
  if (env.CHUTES_RPC_CONFIG) return path.resolve(env.CHUTES_RPC_CONFIG);
  const candidate = path.join(home, 'config.json5');
  return fs.existsSync(candidate) ? candidate : undefined;
}
