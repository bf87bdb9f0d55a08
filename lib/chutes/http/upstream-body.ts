import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { HeaderBag } from './headers';

/** What a response starts with. */
export interface ResponseHead {
  status: number;
  headers: HeaderBag;
}

/** Receives each piece of a body; a promise it returns pauses the reading until it settles. */
export type BodyConsumer = (bytes: Buffer) => void | Promise<void>;

/** consume() failed because the body did (a lost connection, a timeout, an abort): undici's error is `cause`. */
export class BodyReadError extends Error {
  override readonly name = 'BodyReadError';

  constructor(cause: unknown) {
    super(`reading the response body failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** What callers read a response body through: consume() on the hot path, or iteration. */
export interface UpstreamBody extends AsyncIterable<Buffer> {
  consume(consumer: BodyConsumer): Promise<void>;
  destroy(reason?: unknown): void;
}

/**
 * A body that is a stream already (a decrypted E2EE answer, a decompressed one), as an
 * UpstreamBody. What the stream fails with is a BodyReadError, as a broken connection is (the chat
 * call reports it as a broken stream with its reason: an E2EE fault, a corrupt encoding); what the
 * consumer throws is thrown as it is.
 */
export function bodyOfStream(stream: Readable): UpstreamBody {
  const drop = (reason?: unknown) => {
    // Destroyed, a stream may emit an error nobody listens for any more: it must not end the process.
    stream.on('error', () => undefined);
    stream.destroy(reason instanceof Error ? reason : undefined);
  };
  return {
    async consume(consumer) {
      const pieces = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<Buffer>;
        try {
          next = await pieces.next();
        } catch (err) {
          drop();
          throw new BodyReadError(err);
        }
        if (next.done) return;
        try {
          await consumer(next.value);
        } catch (err) {
          drop();
          throw err;
        }
      }
    },
    destroy: drop,
    [Symbol.asyncIterator]: () => (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator](),
  };
}

/**
 * One exchange over undici's handler API (`dispatcher.dispatch`), and its response body: each
 * piece is handed to the consumer inside the socket's read callback, with no stream, async
 * iterator or promise per piece in between (the chat stream's hot path, see
 * bench/cpu-per-delta.bench.js). Reading is paused from the headers until a consumer is
 * attached, and while a promise the consumer returned is pending: a slow consumer slows the
 * upstream down.
 */
export class UpstreamExchange implements Dispatcher.DispatchHandler, UpstreamBody {
  private controller: Dispatcher.DispatchController | undefined;
  private consumer: BodyConsumer | undefined;
  /** Pieces that came while no consumer was attached, or while it asked to wait. */
  private queue: Buffer[] = [];
  private ended = false;
  /** A promise the consumer returned, not yet settled. */
  private waitingFor: Promise<void> | undefined;
  private failure: unknown;
  private settle: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  /** Until response() hands it over: the exchange does not keep the headers while the body streams. */
  private headersArrived: Promise<ResponseHead> | undefined;
  /** Until the headers arrived, or the request failed. */
  private headersSettle: { resolve: (head: ResponseHead) => void; reject: (err: unknown) => void } | undefined;

  constructor(private readonly signal: AbortSignal | undefined) {
    this.headersArrived = new Promise((resolve, reject) => (this.headersSettle = { resolve, reject }));
    // The exchange is its own abort listener (handleEvent): no closure per exchange.
    signal?.addEventListener('abort', this, { once: true });
  }

  /**
   * Status and headers; rejects as undici failed the request (the signal's reason when it was
   * aborted). Asked once, right after the dispatch.
   */
  response(): Promise<ResponseHead> {
    const arrived = this.headersArrived;
    this.headersArrived = undefined;
    return arrived ?? Promise.reject(new Error('the response was already asked for'));
  }

  /** The signal aborted: the exchange is dropped. */
  handleEvent(): void {
    this.destroy(this.signal?.reason);
  }

  /**
   * Hands every piece of the body to `consumer`, in order, and resolves at its end. Rejects with
   * what the consumer threw (the exchange is then dropped), or with a BodyReadError.
   */
  consume(consumer: BodyConsumer): Promise<void> {
    if (this.consumer) return Promise.reject(new Error('the body is already being read'));
    this.consumer = consumer;
    return new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
      this.proceed();
    });
  }

  /** The body piece by piece, for readers that iterate (one piece read ahead at most). */
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    const ready: Buffer[] = [];
    let pull: (() => void) | undefined;
    let wake: (() => void) | undefined;
    let ended = false;
    let failure: unknown;
    void this.consume((bytes) => {
      ready.push(bytes);
      wake?.();
      return new Promise<void>((resolve) => (pull = resolve));
    }).then(
      () => {
        ended = true;
        wake?.();
      },
      (err: unknown) => {
        failure = err instanceof BodyReadError ? err.cause : err;
        ended = true;
        wake?.();
      },
    );
    return {
      next: async (): Promise<IteratorResult<Buffer>> => {
        for (;;) {
          if (ready.length) return { value: ready.shift()!, done: false };
          if (ended) {
            if (failure !== undefined) throw failure instanceof Error ? failure : new Error(String(failure));
            return { value: undefined, done: true };
          }
          const resume = pull;
          pull = undefined;
          await new Promise<void>((resolve) => {
            wake = resolve;
            resume?.();
          });
          wake = undefined;
        }
      },
      return: () => {
        if (!ended) this.destroy();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /** Drops the exchange (and its connection); a consume() in progress fails with `reason`. */
  destroy(reason?: unknown): void {
    const err = reason instanceof Error ? reason : new Error('the response body was dropped');
    if (this.controller && !this.controller.aborted && !this.ended) this.controller.abort(err);
    this.onResponseError(undefined, err);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal?.aborted) controller.abort(this.signal.reason as Error);
  }

  onResponseStart(controller: Dispatcher.DispatchController, status: number, headers: HeaderBag): void {
    // `headers` is their parsed copy; the raw ones are views into the socket's first read, which
    // they would keep (~2 KB a stream) until the response ends.
    controller.rawHeaders = null;
    if (!this.settle) controller.pause();
    this.headersSettle?.resolve({ status, headers });
    this.headersSettle = undefined;
  }

  onResponseData(controller: Dispatcher.DispatchController, bytes: Buffer): void {
    // undici hands over an empty piece when it resumes a paused parser: handed on, each would make
    // a reader that waits per piece pause and resume again, for ever (an iterating reader spins).
    if (bytes.length === 0) return;
    if (this.settle && !this.waitingFor && this.queue.length === 0) return this.deliver(bytes);
    // No consumer yet, or it asked to wait (undici may hand over one more piece after a pause).
    this.queue.push(bytes);
    controller.pause();
  }

  onResponseEnd(): void {
    this.ended = true;
    this.signal?.removeEventListener('abort', this);
    // undici may report the end while the consumer still works on the last piece.
    if (this.settle && !this.waitingFor && this.queue.length === 0) this.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.ended || this.failure !== undefined) return;
    this.failure = err;
    this.signal?.removeEventListener('abort', this);
    this.headersSettle?.reject(err);
    this.headersSettle = undefined;
    if (this.settle) this.finish(new BodyReadError(err));
  }

  /** Gives one piece to the consumer, which nothing else is waiting on. */
  private deliver(bytes: Buffer): void {
    let waited: void | Promise<void>;
    try {
      waited = this.consumer!(bytes);
    } catch (err) {
      this.fail(err);
      return;
    }
    if (!waited) return;
    this.controller?.pause();
    this.waitingFor = waited.then(
      () => {
        this.waitingFor = undefined;
        this.proceed();
      },
      (err: unknown) => this.fail(err),
    );
  }

  /** Nothing is waiting: the pieces queued meanwhile go first, then the end, or more reading. */
  private proceed(): void {
    while (this.settle && !this.waitingFor && this.queue.length) this.deliver(this.queue.shift()!);
    if (!this.settle || this.waitingFor) return;
    if (this.failure !== undefined) this.finish(new BodyReadError(this.failure));
    else if (this.ended) this.finish();
    else this.controller?.resume();
  }

  /** The consumer failed: the exchange is dropped and consume() rejects with its error as it is. */
  private fail(err: unknown): void {
    if (!this.settle) return;
    const settle = this.settle;
    this.settle = undefined;
    if (this.controller && !this.controller.aborted && !this.ended)
      this.controller.abort(err instanceof Error ? err : new Error(String(err)));
    this.failure ??= err;
    this.signal?.removeEventListener('abort', this);
    settle.reject(err);
  }

  private finish(failure?: BodyReadError): void {
    const settle = this.settle;
    if (!settle) return;
    this.settle = undefined;
    if (failure) settle.reject(failure);
    else settle.resolve();
  }
}
