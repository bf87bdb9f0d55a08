import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { HostClient, type HostClientOptions } from './host-client';

export interface SpawnAdapterOptions extends HostClientOptions {
  /** The program to start, e.g. process.execPath or 'chutes-rpc'. */
  command: string;
  /** e.g. ['serve'] or [pathToBin, 'serve', '--replay', cassette]. */
  args?: string[];
  /** The adapter's whole environment; default this process's. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface AdapterExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A HostClient talking to an adapter process it started. */
export class AdapterProcess extends HostClient {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves when the process has exited (or could not be started: code null, see `spawnError`). */
  readonly exited: Promise<AdapterExit>;
  /** Set once the process has exited. */
  exitStatus: AdapterExit | undefined;
  spawnError: Error | undefined;

  constructor(options: SpawnAdapterOptions) {
    const child = spawn(options.command, options.args ?? [], {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    super({ input: child.stdin, output: child.stdout, stderr: child.stderr }, options);
    this.child = child;
    this.exited = new Promise((resolve) => {
      const done = (status: AdapterExit) => {
        this.exitStatus ??= status;
        resolve(this.exitStatus);
      };
      child.once('exit', (code, signal) => done({ code, signal }));
      child.once('error', (err) => {
        // Only a failed start ends here without an exit; a failed kill() leaves the process running.
        if (child.pid !== undefined) return;
        this.spawnError = err;
        done({ code: null, signal: null });
      });
    });
  }

  /** Ends the input, waits for the exit, and kills the process if it has not exited after `timeoutMs`. */
  override async close(timeoutMs = 5000): Promise<void> {
    if (this.exitStatus) return;
    this.endInput();
    const kill = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(kill);
  }
}

export function spawnAdapter(options: SpawnAdapterOptions): AdapterProcess {
  return new AdapterProcess(options);
}
