import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as readline from 'node:readline';

/** The process exists and is not a zombie (a killed host's adapter is reparented and reaped, or not). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Starts a host program that starts an adapter (with a stream running) and prints `adapter PID`,
 * kills the host with SIGKILL (no cleanup of its own can run), and resolves with how long the
 * adapter outlived it; rejects when it is still running after `limitMs`.
 */
export async function adapterLifetimeAfterHostKilled(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  limitMs = 10_000,
): Promise<number> {
  const host = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  host.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = readline.createInterface({ input: host.stdout });
  const pid = await new Promise<number>((resolve, reject) => {
    lines.on('line', (line) => {
      const m = /^adapter (\d+)$/.exec(line.trim());
      if (m) resolve(Number(m[1]));
    });
    host.once('exit', (code) => reject(new Error(`the host exited (${code}) before starting an adapter: ${stderr}`)));
  });
  if (!alive(pid)) throw new Error(`adapter ${pid} is not running while its host is`);
  host.kill('SIGKILL');
  const killed = Date.now();
  while (alive(pid)) {
    if (Date.now() - killed > limitMs) {
      process.kill(pid, 'SIGKILL');
      throw new Error(`adapter ${pid} still running ${limitMs} ms after its host was killed`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return Date.now() - killed;
}
