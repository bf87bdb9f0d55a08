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
  /**
   * Resolves when the process has exited and all its output has been read (or when it could not be
   * started: code null, see `spawnError`). A process's 'exit' can come before the last of its output.
   */
  readonly exited: Promise<AdapterExit>;
  /** Set when `exited` resolves. */
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
      child.once('exit', (code, signal) => void this.outputEnded.then(() => done({ code, signal })));
      child.once('error', (err) => {
        // Only a failed start ends here without an exit; a failed kill() leaves the process running.
        if (child.pid !== undefined) return;
        this.spawnError = err;
        done({ code: null, signal: null });
      });
    });
  }

  /**
   * Ends the input and waits for the exit. After `timeoutMs` it kills the process and stops reading
   * its output (which something the process started may still hold open).
   */
  override async close(timeoutMs = 5000): Promise<void> {
    if (this.exitStatus) return;
    this.endInput();
    const kill = setTimeout(() => {
      this.child.kill('SIGKILL');
      this.child.stdout.destroy();
    }, timeoutMs);
    await this.exited;
    clearTimeout(kill);
  }
}

export function spawnAdapter(options: SpawnAdapterOptions): AdapterProcess {
  return new AdapterProcess(options);
}
