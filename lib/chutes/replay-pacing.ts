import type { Dispatcher } from 'undici';
import { type LegacyHandler, PassThroughHandler, wrapHandlers } from './pass-through-handler';

/** Set on a replayed response (and removed again) to deliver its events this many ms apart. */
export const PACING_HEADER = 'x-chutes-rpc-replay-interval-ms';

/**
 * An interceptor for the replay dispatcher: MockAgent hands over a recorded body in one piece;
 * this hands an event stream to the caller one event at a time, as the real service would, so
 * a replayed stream shows text arriving over time and can be cancelled half way.
 */
export function pacedReplay(): Dispatcher.DispatcherComposeInterceptor {
  return wrapHandlers((handler) => new PacedHandler(handler));
}

class PacedHandler extends PassThroughHandler {
  private interval = 0;
  private readonly queue: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private trailers: Buffer[] | null | undefined;
  private done = false;

  constructor(inner: LegacyHandler) {
    super(inner);
  }

  override onConnect(abort: (reason?: Error) => void, context?: unknown): void {
    this.inner.onConnect?.((reason?: Error) => {
      if (this.interval > 0 && !this.done) {
        this.finish();
        this.inner.onError?.(reason ?? new Error('aborted'));
        return;
      }
      abort(reason);
    }, context);
  }

  override onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    const kept: Buffer[] = [];
    for (let i = 0; i < rawHeaders.length; i += 2) {
      if (String(rawHeaders[i]).toLowerCase() === PACING_HEADER) this.interval = Number(String(rawHeaders[i + 1])) || 0;
      else kept.push(rawHeaders[i]!, rawHeaders[i + 1]!);
    }
    return this.inner.onHeaders?.(status, kept, resume, statusText) ?? true;
  }

  override onData(chunk: Buffer): boolean {
    if (this.interval <= 0) return this.inner.onData?.(chunk) ?? true;
    const text = chunk.toString('utf8');
    for (const event of text.split(/(?<=\n\n)/)) if (event) this.queue.push(Buffer.from(event, 'utf8'));
    this.schedule();
    return true;
  }

  override onComplete(trailers: Buffer[] | null): void {
    if (this.interval <= 0) return this.inner.onComplete?.(trailers);
    this.trailers = trailers;
    this.schedule();
  }

  override onError(err: Error): void {
    if (this.done) return;
    this.finish();
    this.inner.onError?.(err);
  }

  private schedule(): void {
    if (this.timer || this.done) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.done) return;
      const next = this.queue.shift();
      if (next) {
        this.inner.onData?.(next);
        this.schedule();
      } else if (this.trailers !== undefined) {
        this.finish();
        this.inner.onComplete?.(this.trailers);
      }
    }, this.queue.length ? this.interval : 0);
  }

  private finish(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}
