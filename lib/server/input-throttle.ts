import type { Readable } from 'node:stream';
import type { FramedStreamWriter } from './framing/stream-writer';
import type { RpcConnection } from './jsonrpc-connection';

/** Above this many messages waiting (to be run, or to be written), stdin is no longer read... */
export const INPUT_HIGH_WATER = 4096;
/** ...until the backlog is below this. */
export const INPUT_LOW_WATER = 1024;

/**
 * Input backpressure: a host that writes faster than it reads (or never reads stdout at all)
 * must not make the server queue replies without bound. After each chunk of input, when the
 * messages waiting inside the connection plus the replies waiting for the output exceed the high
 * water mark, stdin is paused; it is resumed once both have fallen below the low one. The OS pipe
 * then pushes back on the host.
 */
export class InputThrottle {
  private paused = false;

  constructor(
    private readonly input: Readable,
    private readonly connection: RpcConnection,
    private readonly writer: FramedStreamWriter,
    private readonly high = INPUT_HIGH_WATER,
    private readonly low = INPUT_LOW_WATER,
  ) {}

  private backlog(): number {
    return this.connection.pending() + this.writer.queuedMessages;
  }

  /** Called after each chunk of input was decoded. */
  check(): void {
    if (this.paused || this.backlog() < this.high) return;
    this.paused = true;
    this.input.pause();
    void this.resumeWhenLow();
  }

  private async resumeWhenLow(): Promise<void> {
    while (this.backlog() >= this.low) {
      await this.connection.caughtUp();
      await this.writer.whenQueuedBelow(this.low);
    }
    this.paused = false;
    this.input.resume();
  }
}
