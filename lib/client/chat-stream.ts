import type { ChatDelta, ChatResult } from '../generated/types';
import type { RpcId, RpcMessage } from './message';
import { RpcError } from './rpc-error';

/**
 * One chat.stream request seen from the host: iterate it for its deltas; `result` is the reply.
 * Deltas are queued from the moment the request is sent, so none is lost before iteration starts.
 * Leaving the iteration early (break, return, throw) cancels the request; the reply then is an
 * RpcError with code -32800 whose data.partial holds what had arrived.
 */
export class ChatStream implements AsyncIterableIterator<ChatDelta> {
  /** Resolves with the reply's result; rejects with an RpcError when the reply is an error. */
  readonly result: Promise<ChatResult>;
  private readonly queue: ChatDelta[] = [];
  private wake: (() => void) | undefined;
  private replied = false;
  private failure: Error | undefined;
  private left = false;

  constructor(
    readonly id: RpcId,
    readonly streamId: string,
    reply: Promise<RpcMessage>,
    private readonly sendCancel: () => void,
  ) {
    this.result = reply.then((msg) => {
      if (msg.error) throw new RpcError(msg.error);
      return msg.result as ChatResult;
    });
    this.result.then(
      () => this.settle(undefined),
      (err: unknown) => this.settle(err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** Called by the client for each chat.delta of this stream. */
  push(delta: ChatDelta): void {
    if (this.left) return;
    this.queue.push(delta);
    this.wakeReader();
  }

  /** Sends $/cancelRequest unless the reply is already here. */
  cancel(): void {
    if (!this.replied) this.sendCancel();
  }

  async next(): Promise<IteratorResult<ChatDelta, undefined>> {
    for (;;) {
      const delta = this.queue.shift();
      if (delta !== undefined) return { value: delta, done: false };
      if (this.left) return { value: undefined, done: true };
      if (this.replied) {
        if (this.failure !== undefined) throw this.failure;
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<ChatDelta, undefined>> {
    this.left = true;
    this.queue.length = 0;
    this.cancel();
    this.wakeReader();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private settle(failure: Error | undefined): void {
    this.replied = true;
    this.failure = failure;
    this.wakeReader();
  }

  private wakeReader(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
