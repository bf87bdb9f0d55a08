import type { LogLevel, Logger } from '../log/logger';
import { AutoDecoder } from './framing/auto-decoder';
import type { Framing, FrameDecoder } from './framing/frame-decoder';
import { LspDecoder } from './framing/lsp-decoder';
import { NdjsonDecoder } from './framing/ndjson-decoder';
import { FramedStreamWriter, type RawWrite } from './framing/stream-writer';
import { InboundGate } from './inbound-gate';
import { InputThrottle } from './input-throttle';
import { createRpcConnection } from './jsonrpc-connection';
import { type RequestContext, type RequestHandler, RequestRunner } from './request-runner';
import { RpcError, RpcErrorCode } from './rpc-error';
import { guardStdout } from './stdout-guard';

export interface ServerOptions {
  framing: 'auto' | Framing;
  /** What end of input does to running requests: cancel them (the contract) or let them finish. */
  onEof: 'cancel' | 'wait';
  /** Messages larger than this are refused without being held in memory. */
  maxMessageBytes: number;
}

/** What handlers may ask of the server they run in. */
export interface ServerControl {
  /** The framing in use; undefined until the first message decided it. */
  framing(): Framing | undefined;
  methodNames(): string[];
  /** Later requests are refused; `exit` then ends the process with code 0. */
  beginShutdown(): void;
  /** Also sends log lines at `level` and above as `log` notifications; undefined stops them. */
  forwardLogs(level: LogLevel | undefined): void;
  /**
   * Sends a notification, in order with everything else written. Returns nothing while the output
   * has room; when it is full, a promise that resolves once it drained: awaiting that is backpressure.
   */
  notify(method: string, params: unknown): Promise<void> | undefined;
  /**
   * Undefined while the output has room; when it is full (the host reads slower than we write), a
   * promise that resolves once it drained, and rejects if the output closed.
   */
  outputRoom(): Promise<void> | undefined;
}

/** What the server serves: a method table, what to do with notifications, and what to close at exit. */
export interface ServedApp {
  methods: ReadonlyMap<string, RequestHandler>;
  /** Notifications from the host other than `exit` and `$/...`, which the server handles. */
  onNotification?(method: string, params: unknown): void;
  /**
   * Encoders of the notifications the app sends most, by method: given the params, the whole
   * message's JSON (the same text as JSON.stringify of {jsonrpc, method, params}, faster).
   */
  messageEncoders?: ReadonlyMap<string, (params: never) => string>;
  close(): Promise<void>;
}

export type { RequestContext, RequestHandler };

/**
 * A JSON-RPC 2.0 server on stdin/stdout: framing, the inbound gate, the connection, lifecycle
 * (shutdown/exit, end of input, signals, a closed output) and the running of a method table it
 * is given. Every request it receives gets exactly one reply, however the session ends.
 */
export function serve(opts: ServerOptions, log: Logger, makeApp: (control: ServerControl) => ServedApp): void {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const rawWrite: RawWrite = guardStdout();

  let framing: Framing | undefined = opts.framing === 'auto' ? undefined : opts.framing;
  const gate: InboundGate = new InboundGate((reply) => void writer.post(reply)?.catch(() => undefined), log, opts.maxMessageBytes);
  const writer = new FramedStreamWriter(
    stdout,
    rawWrite,
    () => framing ?? 'ndjson',
    (reply) => gate.responded(reply),
  );
  const makeDecoder = (f: Framing): FrameDecoder =>
    f === 'lsp' ? new LspDecoder(gate, opts.maxMessageBytes) : new NdjsonDecoder(gate, opts.maxMessageBytes);
  const decoder: FrameDecoder =
    opts.framing === 'auto'
      ? new AutoDecoder(makeDecoder, (f) => {
          framing = f;
          log.debug(`framing detected: ${f}`);
        })
      : makeDecoder(opts.framing);

  // Straight to the writer: it keeps order with replies, waits for room, and still works after end of input.
  const notify = (method: string, params: unknown): Promise<void> | undefined => {
    const encode = app.messageEncoders?.get(method) as ((p: unknown) => string) | undefined;
    return encode ? writer.postJson(encode(params)) : writer.post({ jsonrpc: '2.0', method, params });
  };
  let shutdownRequested = false;
  const control: ServerControl = {
    framing: () => framing,
    methodNames: () => runner.names(),
    beginShutdown: () => {
      shutdownRequested = true;
      runner.refuseNewRequests(new RpcError(RpcErrorCode.InvalidRequest, 'Invalid request: the server is shutting down'));
    },
    forwardLogs: (level) => log.forward(level, (l, message) => void notify('log', { level: l, message })?.catch(() => undefined)),
    notify,
    outputRoom: () => (writer.backedUp ? writer.room() : undefined),
  };
  const app = makeApp(control);
  const runner = new RequestRunner(app.methods, log);
  const connection = createRpcConnection(gate, writer, log);
  connection.onRequest((id, method, params, controller) => runner.run(id, method, params, controller));
  connection.onNotification((method, params) => {
    if (method === 'exit') void stop(shutdownRequested ? 0 : 1, 'exit notification');
    // LSP's and MCP's "I have your initialize result": nothing here waits for it.
    else if (method === 'initialized' || method === 'notifications/initialized') return;
    else if (app.onNotification) app.onNotification(method, params);
    else if (!method.startsWith('$/')) log.debug(`ignoring notification ${method}`);
  });

  let stopping: Promise<void> | undefined;
  const stop = (code: number, why: string): Promise<void> => {
    stopping ??= (async () => {
      log.debug(`stopping (${why})`);
      runner.refuseNewRequests(new RpcError(RpcErrorCode.RequestCancelled, `Request cancelled: ${why}`, { partial: null }));
      await runner.cancelAll('the server is stopping');
      await gate.allAnswered();
      await writer.flush();
      await app.close();
      process.exit(code);
    })();
    return stopping;
  };

  let inputEnded = false;
  const onInputEnd = async (why: string) => {
    if (inputEnded) return;
    inputEnded = true;
    decoder.end();
    // Messages already read but still queued inside the connection count as received: each gets
    // its reply (finished or cancelled), and an exit notification among them decides the exit code.
    if (opts.onEof === 'cancel') {
      runner.refuseNewRequests(new RpcError(RpcErrorCode.RequestCancelled, 'Request cancelled: the input ended', { partial: null }));
      void runner.cancelAll('the input ended');
    }
    await connection.caughtUp();
    if (opts.onEof === 'wait') await runner.settled();
    await stop(0, why);
  };
  const throttle = new InputThrottle(stdin, connection, writer);
  stdin.on('data', (chunk: Buffer | string) => {
    decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    throttle.check();
  });
  stdin.once('end', () => void onInputEnd('end of input'));
  // `on`, not `once`: a package that hooks signals (signal-exit, loaded by proper-lockfile) re-raises
  // one that has no other listener left, which would kill the process before it answered. A second
  // signal ends the process at once.
  let signalled = false;
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (!signalled) {
        signalled = true;
        return void onInputEnd(signal);
      }
      log.warn(`${signal} again: exiting without waiting for the requests in flight`);
      process.exit(1);
    });
  }
  stdout.on('error', (err: NodeJS.ErrnoException) => {
    // The host closed our output: nobody can read a reply any more.
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') process.exit(0);
    log.error(`stdout: ${err.message}`);
    process.exit(1);
  });
  stdin.on('error', (err) => log.debug(`stdin: ${err.message}`));

  connection.listen();
}
