import {
  AbstractMessageReader,
  AbstractMessageWriter,
  type CancellationToken,
  CancellationSenderStrategy,
  createMessageConnection,
  type DataCallback,
  Disposable,
  type Message,
  type MessageReader,
  type MessageWriter,
  ResponseError,
} from 'vscode-jsonrpc/node';
import type { Logger } from '../log/logger';
import type { FramedStreamWriter } from './framing/stream-writer';
import type { InboundGate, RequestId } from './inbound-gate';
import { RpcError, RpcErrorCode } from './rpc-error';

/**
 * Runs one request; what it throws is answered (an RpcError as it is). The controller is the
 * request's own, aborted by $/cancelRequest: the listener may abort it too (one per request, as
 * each costs an EventTarget).
 */
export type RequestListener = (id: RequestId, method: string, params: unknown, controller: AbortController) => Promise<unknown>;
export type NotificationListener = (method: string, params: unknown) => void;

export interface RpcConnection {
  onRequest(listener: RequestListener): void;
  onNotification(listener: NotificationListener): void;
  /** Starts reading messages from the gate. */
  listen(): void;
  /** Resolves once every message the gate has delivered so far has been handed to a listener. */
  caughtUp(): Promise<void>;
  /** Messages delivered and not yet handed to a listener (queued inside vscode-jsonrpc). */
  pending(): number;
}

/**
 * The one place vscode-jsonrpc is used: its connection queues the messages the gate lets through,
 * turns $/cancelRequest into cancellation, and writes each reply. The rest of the server sees
 * `onRequest(id, method, params, controller)` and plain errors.
 */
export function createRpcConnection(gate: InboundGate, writer: FramedStreamWriter, log: Logger): RpcConnection {
  const reader = new GateReader(gate);
  let delivered = 0;
  let handled = 0;
  let waiters: Array<() => void> = [];
  const settle = () => {
    if (handled < delivered) return;
    const ready = waiters;
    waiters = [];
    for (const w of ready) w();
  };
  // vscode-jsonrpc hands the star request handler the method and params but not the id; it calls
  // the handler synchronously inside handleMessage, so the message being handled is known then.
  let current: Message | undefined;
  const debug = (m: string) => log.debug(`jsonrpc: ${m}`);
  const connection = createMessageConnection(
    reader,
    new WriterAdapter(writer),
    { error: debug, warn: debug, info: debug, log: debug },
    {
      cancellationStrategy: {
        receiver: { createCancellationTokenSource: () => new RequestCancellation() },
        sender: CancellationSenderStrategy.Message,
      },
      messageStrategy: {
        handleMessage(message, next) {
          current = message;
          try {
            return next(message);
          } finally {
            current = undefined;
            handled++;
            settle();
          }
        },
      },
    },
  );
  reader.onDeliver = (msg) => {
    // $/cancelRequest for a running request acts at once and is never queued: not counted.
    if (msg.method !== '$/cancelRequest') delivered++;
  };
  connection.onError(([err]) => log.debug(`connection error: ${err.message}`));
  return {
    onRequest(listener) {
      // Not an async function: while a request runs (a chat stream, for minutes), nothing here
      // stays suspended, only the listener's promise and one reaction.
      connection.onRequest((method, params, token) => {
        const id = (current as { id?: RequestId } | undefined)?.id;
        if (id === undefined) throw new ResponseError(RpcErrorCode.InternalError, 'Internal error: request id unknown');
        return listener(id, method, params, (token as RequestCancellation).controller).catch(asResponseError);
      });
    },
    onNotification(listener) {
      connection.onNotification((method: string, params: unknown) => {
        if (method !== '$/cancelRequest') listener(method, params);
      });
    },
    listen: () => connection.listen(),
    pending: () => delivered - handled,
    caughtUp: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        settle();
      }),
  };
}

/** vscode-jsonrpc answers an RpcError the listener throws with its code, message and data. */
function asResponseError(err: unknown): never {
  if (err instanceof RpcError) throw new ResponseError(err.code, err.message, err.data);
  throw err;
}

/**
 * The cancellation of one request, which vscode-jsonrpc makes for each request it runs (its
 * cancellation token source and the token itself): $/cancelRequest aborts the request's
 * AbortController directly, with no token events in between.
 */
class RequestCancellation implements CancellationToken {
  readonly controller = new AbortController();

  get token(): CancellationToken {
    return this;
  }

  get isCancellationRequested(): boolean {
    return this.controller.signal.aborted;
  }

  onCancellationRequested(listener: (e: unknown) => unknown): Disposable {
    const { signal } = this.controller;
    const onAbort = () => listener(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    return Disposable.create(() => signal.removeEventListener('abort', onAbort));
  }

  cancel(): void {
    this.controller.abort(new Error('cancelled by the host'));
  }

  dispose(): void {}
}

/** Messages from the gate, as the connection reads them; stdin is read by the server. */
class GateReader extends AbstractMessageReader implements MessageReader {
  onDeliver: ((msg: { method?: string }) => void) | undefined;

  constructor(private readonly gate: InboundGate) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    this.gate.connect((msg) => {
      this.onDeliver?.(msg);
      callback(msg);
    });
    return Disposable.create(() => undefined);
  }
}

class WriterAdapter extends AbstractMessageWriter implements MessageWriter {
  constructor(private readonly writer: FramedStreamWriter) {
    super();
  }

  write(msg: Message): Promise<void> {
    return this.writer.write(msg);
  }

  end(): void {}
}
