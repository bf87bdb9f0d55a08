import type { Framing } from '../server/framing/frame-decoder';
import { adapterCommand } from './adapter-command';
import type { ChatStream } from './chat-stream';
import type { Disposer, NotificationListener } from './host-client';
import { AdapterProcess } from './spawn';
import { type CallOptions, type Params, type Result, TypedMethods } from './typed-methods';
import type { ClientNotificationMap, MethodMap } from '../generated/maps';

export interface ClientOptions {
  /** The program and leading arguments that start chutes-rpc; default: see adapterCommand(). */
  command?: string[];
  /** After `serve`, e.g. ['--replay', file]. */
  args?: string[];
  /** Default 'ndjson'; passed as --framing unless args name one. */
  framing?: Framing;
  /** The adapter's whole environment; default this process's. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How long close() waits for a clean exit before it kills the adapter; default 5000. */
  closeTimeoutMs?: number;
}

/**
 * chutes-rpc in a child process, with the shape of the Python and Go clients: start(), call(), one
 * typed method per protocol method, chatStream(), close(). `adapter` is the HostClient underneath.
 */
export class Client extends TypedMethods {
  readonly adapter: AdapterProcess;
  private readonly closeTimeoutMs: number;

  constructor(options: ClientOptions = {}) {
    super();
    const [program, ...lead] = options.command ?? adapterCommand(options.env);
    if (program === undefined) throw new TypeError('command is empty');
    const framing = options.framing ?? 'ndjson';
    const args = options.args ?? [];
    const named = args.some((a) => a === '--framing' || a.startsWith('--framing='));
    this.adapter = new AdapterProcess({
      command: program,
      args: [...lead, 'serve', ...(named ? [] : ['--framing', framing]), ...args],
      framing,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5000;
  }

  get pid(): number | undefined {
    return this.adapter.child.pid;
  }

  call<M extends keyof MethodMap>(method: M, params?: Params<M>, options: CallOptions = {}): Promise<Result<M>> {
    return this.adapter.request<Result<M>>(method, params, options);
  }

  stream(method: 'chat.stream', params: Params<'chat.stream'>, options: CallOptions = {}): ChatStream {
    if (method !== 'chat.stream') throw new TypeError(`${String(method)} is not a stream`);
    return this.adapter.chatStream(params, options);
  }

  notify<M extends keyof ClientNotificationMap>(method: M, params?: ClientNotificationMap[M]): void {
    this.adapter.notify(method, params ?? undefined);
  }

  onNotification(method: string, listener: NotificationListener): Disposer {
    return this.adapter.onNotification(method, listener);
  }

  /** shutdown, exit, end of input; kills the adapter if it has not exited in time. Resolves with its exit code. */
  async close(): Promise<number | null> {
    if (!this.adapter.exitStatus) {
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, this.closeTimeoutMs).unref());
      const shutdown = this.shutdown().then(
        () => this.exit(),
        () => undefined,
      );
      await Promise.race([shutdown, timeout]);
      await this.adapter.close(this.closeTimeoutMs);
    }
    return (await this.adapter.exited).code;
  }
}

/** Starts chutes-rpc and returns its client. */
export function start(options: ClientOptions = {}): Client {
  return new Client(options);
}
