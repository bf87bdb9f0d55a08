import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';

export type Controller = Dispatcher.DispatchController;
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/**
 * Passes each callback of undici's handler API (the controller-based one) on to the handler it
 * wraps; an interceptor overrides the ones it watches. undici's own DecoratorHandler does the same,
 * but it is marked deprecated in undici 7 and its type declaration has no methods to call with super.
 */
export class ForwardingHandler implements Dispatcher.DispatchHandler {
  constructor(protected readonly inner: Dispatcher.DispatchHandler) {}

  onRequestStart(controller: Controller, context: unknown): void {
    this.inner.onRequestStart?.(controller, context);
  }

  onRequestUpgrade(controller: Controller, statusCode: number, headers: ResponseHeaders, socket: Duplex): void {
    this.inner.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: ResponseHeaders, statusMessage?: string): void {
    this.inner.onResponseStart?.(controller, statusCode, headers, statusMessage);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.inner.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Controller, trailers: ResponseHeaders): void {
    this.inner.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Controller, error: Error): void {
    this.inner.onResponseError?.(controller, error);
  }
}

/**
 * A compose() interceptor that wraps the handler of each request. compose() hands interceptors
 * handlers with the controller-based API (it wraps older ones), and the dispatcher below accepts them.
 */
export function wrapEachHandler(
  wrap: (handler: Dispatcher.DispatchHandler, opts: Dispatcher.DispatchOptions) => Dispatcher.DispatchHandler,
): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => dispatch(opts, wrap(handler, opts));
}
