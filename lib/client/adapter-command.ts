import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Where the single executable is looked for: <home>/bin/chutes-rpc, home being the adapter's state directory. */
export function singleBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.CHUTES_RPC_HOME || path.join(os.homedir(), '.chutes-rpc');
  return path.join(home, 'bin', process.platform === 'win32' ? 'chutes-rpc.exe' : 'chutes-rpc');
}

function executable(file: string): boolean {
  try {
    return fs.statSync(file).isFile() && (process.platform === 'win32' || (fs.accessSync(file, fs.constants.X_OK), true));
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  const names = process.platform === 'win32' ? [`${name}.cmd`, `${name}.exe`, name] : [name];
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const n of names) if (executable(path.join(dir, n))) return path.join(dir, n);
  }
  return undefined;
}

/**
 * The program and leading arguments that start chutes-rpc when the host gives none: chutes-rpc on
 * PATH, else the single binary, else npx. Throws when there is none of them.
 */
export function adapterCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  const found = onPath('chutes-rpc', env);
  if (found) return [found];
  const binary = singleBinaryPath(env);
  if (executable(binary)) return [binary];
  const npx = onPath('npx', env);
  if (npx) return [npx, '--yes', 'chutes-rpc'];
  throw new Error(`chutes-rpc not found: install it (npm install -g chutes-rpc), put the single binary at ${binary}, or pass command`);
}
