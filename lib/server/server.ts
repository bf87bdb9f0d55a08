import { createMessageConnection, type Message, type MessageConnection, ResponseError } from 'vscode-jsonrpc/node';
import { type AppSettings, createApp } from '../create-app';
import { JsonRpcCode } from '../errors';
import type { Logger } from '../log/logger';
import { allMethods, clientNotifications, serverNotifications } from '../methods';
import type { Session } from '../methods/method';
import { MethodDispatcher } from './dispatch';
import { AutoDecoder } from './framing/auto-decoder';
import type { Framing, FrameDecoder } from './framing/frame-decoder';
import { LspDecoder } from './framing/lsp-decoder';
import { NdjsonDecoder } from './framing/ndjson-decoder';
import { FramedStreamReader } from './framing/stream-reader';
import { FramedStreamWriter, type RawWrite } from './framing/stream-writer';
import { InboundGate } from './inbound-gate';
import { guardStdout } from './stdout-guard';

export interface ServeOptions extends AppSettings {
  framing: 'auto' | Framing;
  /** What stdin EOF does to running requests: cancel them (the contract) or let them finish. */
  onEof: 'cancel' | 'wait';
}

/** How long running requests get to produce their replies once the server is stopping. */
const STOP_GRACE_MS = 5000;

export function serve(opts: ServeOptions, log: Logger): void {
  const stdin = process.stdin;
  const stdout = process.stdout;
  const rawWrite: RawWrite = guardStdout();

  const app = createApp(opts, log);
  const configState = app.configState;
  for (const p of configState.problems) log.warn(`config ${configState.config.path ?? ''} ${p.path || '(root)'}: ${p.message}`);

  let framing: Framing | undefined = opts.framing === 'auto' ? undefined : opts.framing;
  let gate: InboundGate;
  const writer = new FramedStreamWriter(stdout, rawWrite, () => framing ?? 'ndjson', (reply) => gate.responded(reply));
  const max = configState.config.maxMessageBytes;
  gate = new InboundGate((reply) => void writer.write(reply as Message).catch(() => undefined), log, max);
  const makeDecoder = (f: Framing): FrameDecoder => (f === 'lsp' ? new LspDecoder(gate, max) : new NdjsonDecoder(gate, max));
  const decoder: FrameDecoder =
    opts.framing === 'auto'
      ? new AutoDecoder(makeDecoder, (f) => {
          framing = f;
          log.debug(`framing detected: ${f}`);
        })
      : makeDecoder(opts.framing);
  const reader = new FramedStreamReader(stdin, decoder, gate);

  // vscode-jsonrpc hands the star handler method and params but not the id; the handler is called
  // synchronously inside handleMessage, so the message being handled is known at that moment.
  let current: Message | undefined;
  let handled = 0;
  const connection: MessageConnection = createMessageConnection(
    reader,
    writer,
    {
      error: (m) => log.debug(`jsonrpc: ${m}`),
      warn: (m) => log.debug(`jsonrpc: ${m}`),
      info: (m) => log.debug(`jsonrpc: ${m}`),
      log: (m) => log.debug(`jsonrpc: ${m}`),
    },
    {
      messageStrategy: {
        handleMessage(message, next) {
          // Counted like InboundGate.deliveredMessages: $/cancelRequest may never be queued.
          if ((message as { method?: string }).method !== '$/cancelRequest') handled++;
          current = message;
          try {
            return next(message);
          } finally {
            current = undefined;
          }
        },
      },
    },
  );

  // Straight to the writer: it keeps order with replies, waits for room (backpressure), and still
  // works after end of input, while running requests finish with their cancelled replies.
  const notify = (method: string, params: unknown) => writer.write({ jsonrpc: '2.0', method, params } as Message);
  let shutdownRequested = false;
  const session: Session = {
    framing: () => framing,
    methodNames: () => dispatcher.names(),
    notificationNames: () => [...serverNotifications],
    beginShutdown: () => {
      shutdownRequested = true;
      dispatcher.refuseNewRequests();
    },
    forwardLogs: (lvl) => log.forward(lvl, (l, message) => void notify('log', { level: l, message }).catch(() => undefined)),
  };
  const dispatcher = new MethodDispatcher(allMethods, app, session, notify, log);
  let eofCancels = false;

  connection.onRequest((method, params, token) => {
    const id = (current as { id?: string | number } | undefined)?.id;
    if (id === undefined) throw new ResponseError(JsonRpcCode.InternalError, 'Internal error: request id unknown');
    if (eofCancels) throw new ResponseError(JsonRpcCode.RequestCancelled, 'Request cancelled: the input ended', { partial: null });
    return dispatcher.handle(id, method, params, token);
  });
  connection.onNotification('exit', () => void stop(shutdownRequested ? 0 : 1, 'exit notification'));
  connection.onUnhandledNotification((n) => {
    if (!clientNotifications.includes(n.method) && !n.method.startsWith('$/')) log.debug(`ignoring unknown notification ${n.method}`);
  });
  connection.onError(([err]) => log.debug(`connection error: ${err.message}`));

  let stopping: Promise<void> | undefined;
  const stop = (code: number, why: string): Promise<void> => {
    stopping ??= (async () => {
      log.debug(`stopping (${why})`);
      dispatcher.refuseNewRequests();
      await dispatcher.cancelAll(STOP_GRACE_MS);
      await Promise.race([writer.flush(), new Promise((r) => setTimeout(r, STOP_GRACE_MS))]);
      await app.close();
      process.exit(code);
    })();
    return stopping;
  };

  const onInputEnd = async (why: string) => {
    // Messages already read but still queued inside the connection count as received: let them
    // be handled first, so that each request gets its (cancelled or finished) reply and an exit
    // notification still decides the exit code.
    const deadline = Date.now() + STOP_GRACE_MS;
    while (handled < gate.deliveredMessages && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    if (opts.onEof === 'cancel') {
      eofCancels = true;
    } else {
      dispatcher.refuseNewRequests();
      await dispatcher.settled();
    }
    await stop(0, why);
  };
  stdin.once('end', () => void onInputEnd('end of input'));
  process.once('SIGTERM', () => void onInputEnd('SIGTERM'));
  process.once('SIGINT', () => void onInputEnd('SIGINT'));
  stdout.on('error', (err: NodeJS.ErrnoException) => {
    // The host closed our output: nobody can read a reply any more.
    if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') process.exit(0);
    log.error(`stdout: ${err.message}`);
    process.exit(1);
  });
  stdin.on('error', (err) => log.debug(`stdin: ${err.message}`));

  connection.listen();
}
