import type { Dispatcher } from 'undici';

/** undici's handler callbacks as `request()` and MockAgent use them. */
export interface LegacyHandler {
  onConnect?(abort: (reason?: Error) => void, context?: unknown): void;
  onUpgrade?(...args: unknown[]): void;
  onResponseStarted?(): void;
  onHeaders?(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: Buffer[] | null): void;
  onError?(err: Error): void;
  onBodySent?(...args: unknown[]): void;
  onRequestSent?(): void;
}

/** Forwards every callback to the handler it wraps; an interceptor overrides the ones it watches. */
export class PassThroughHandler implements LegacyHandler {
  constructor(protected readonly inner: LegacyHandler) {}

  onConnect(abort: (reason?: Error) => void, context?: unknown): void {
    this.inner.onConnect?.(abort, context);
  }
  onUpgrade(...args: unknown[]): void {
    this.inner.onUpgrade?.(...args);
  }
  onResponseStarted(): void {
    this.inner.onResponseStarted?.();
  }
  onHeaders(status: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    return this.inner.onHeaders?.(status, rawHeaders, resume, statusText) ?? true;
  }
  onData(chunk: Buffer): boolean {
    return this.inner.onData?.(chunk) ?? true;
  }
  onComplete(trailers: Buffer[] | null): void {
    this.inner.onComplete?.(trailers);
  }
  onError(err: Error): void {
    this.inner.onError?.(err);
  }
  onBodySent(...args: unknown[]): void {
    this.inner.onBodySent?.(...args);
  }
  onRequestSent(): void {
    this.inner.onRequestSent?.();
  }
}

/** A compose() interceptor that wraps each request's handler. */
export function wrapHandlers(wrap: (handler: LegacyHandler, opts: Dispatcher.DispatchOptions) => PassThroughHandler): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => dispatch(opts, wrap(handler as unknown as LegacyHandler, opts) as unknown as Dispatcher.DispatchHandler);
}
