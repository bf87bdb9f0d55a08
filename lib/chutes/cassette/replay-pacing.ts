import type { Dispatcher } from 'undici';
import { type Controller, ForwardingHandler, type ResponseHeaders, wrapEachHandler } from './forwarding-handler';

/** Set on a replayed response (and removed again) to deliver its events this many ms apart. */
export const PACING_HEADER = 'x-chutes-rpc-replay-interval-ms';

/**
 * An interceptor for the replay dispatcher: MockAgent hands over a recorded body in one piece;
 * this hands an event stream to the caller one event at a time, as the real service would, so
 * a replayed stream shows text arriving over time and can be cancelled half way.
 */
export function pacedReplay(): Dispatcher.DispatcherComposeInterceptor {
  return wrapEachHandler((handler) => new PacedHandler(handler));
}

class PacedHandler extends ForwardingHandler {
  private interval = 0;
  private readonly queue: Buffer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private trailers: ResponseHeaders | undefined;
  private done = false;
  /** The controller the caller gets; set in onRequestStart. */
  private controller: Controller | undefined;

  override onRequestStart(controller: Controller, context: unknown): void {
    this.controller = this.callerController(controller);
    this.inner.onRequestStart?.(this.controller, context);
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: ResponseHeaders, statusMessage?: string): void {
    const { [PACING_HEADER]: interval, ...kept } = headers;
    this.interval = Number(Array.isArray(interval) ? interval[0] : interval) || 0;
    this.inner.onResponseStart?.(this.controller ?? controller, statusCode, kept, statusMessage);
  }

  override onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.interval <= 0) return this.inner.onResponseData?.(this.controller ?? controller, chunk);
    for (const event of chunk.toString('utf8').split(/(?<=\n\n)/)) if (event) this.queue.push(Buffer.from(event, 'utf8'));
    this.schedule();
  }

  override onResponseEnd(controller: Controller, trailers: ResponseHeaders): void {
    if (this.interval <= 0) return this.inner.onResponseEnd?.(this.controller ?? controller, trailers);
    this.trailers = trailers;
    this.schedule();
  }

  override onResponseError(controller: Controller, error: Error): void {
    if (this.done) return;
    this.finish();
    this.inner.onResponseError?.(this.controller ?? controller, error);
  }

  /**
   * The mock below has delivered the whole response at once, so a caller's abort while events are
   * still queued is handled here: the queue is dropped and the caller gets its error.
   */
  private callerController(below: Controller): Controller {
    let reason: Error | null = null;
    const paced = (): boolean => this.interval > 0 && !this.done;
    return {
      get aborted() {
        return reason !== null || below.aborted;
      },
      get paused() {
        return below.paused;
      },
      get reason() {
        return reason ?? below.reason;
      },
      abort: (why: Error) => {
        if (!paced()) return below.abort(why);
        reason = why ?? new Error('aborted');
        this.onResponseError(below, reason);
      },
      pause: () => below.pause(),
      resume: () => below.resume(),
    };
  }

  private schedule(): void {
    if (this.timer || this.done) return;
    this.timer = setTimeout(() => this.deliverNext(), this.queue.length ? this.interval : 0);
  }

  private deliverNext(): void {
    this.timer = undefined;
    if (this.done || !this.controller) return;
    const next = this.queue.shift();
    if (next) {
      this.inner.onResponseData?.(this.controller, next);
      this.schedule();
    } else if (this.trailers !== undefined) {
      this.finish();
      this.inner.onResponseEnd?.(this.controller, this.trailers);
    }
  }

  private finish(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }
}
