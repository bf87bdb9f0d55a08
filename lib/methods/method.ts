import type { App } from '../app';
import type { LogLevel } from '../log/logger';
import type { Framing } from '../server/framing/frame-decoder';

/** The connection a call arrived on, as far as methods need to know it. */
export interface Session {
  framing(): Framing | undefined;
  methodNames(): string[];
  notificationNames(): string[];
  /** Marks the server as shutting down: later requests are refused. */
  beginShutdown(): void;
  /** Also sends log lines at `level` and above as log notifications. */
  forwardLogs(level: LogLevel): void;
}

export interface CallContext {
  /** The JSON-RPC id of the request. */
  id: string | number;
  /** Aborted by $/cancelRequest, stdin EOF, SIGTERM or SIGINT. */
  signal: AbortSignal;
  /** Sends a notification; resolves once it is written (or the output has room): await it for backpressure. */
  notify(method: string, params: unknown): Promise<void>;
  app: App;
  session: Session;
}

export interface MethodSpec<P = any, R = any> {
  name: string;
  /** Answer -32020 before running when the config file is invalid. */
  needsConfig?: boolean;
  handler(params: P, ctx: CallContext): Promise<R> | R;
}

export function defineMethod<P, R>(spec: MethodSpec<P, R>): MethodSpec<P, R> {
  return spec;
}
