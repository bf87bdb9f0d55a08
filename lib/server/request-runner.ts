import type { Logger } from '../log/logger';
import { redact, redactValue } from '../log/redact';
import { isAbortError } from '../util/abort';
import type { RequestId } from './inbound-gate';
import { RpcError, RpcErrorCode } from './rpc-error';

/** What a request handler is given besides its params. */
export interface RequestContext {
  id: RequestId;
  /** Aborted by $/cancelRequest, end of input, SIGTERM or SIGINT. */
  signal: AbortSignal;
}

export type RequestHandler = (params: unknown, request: RequestContext) => Promise<unknown>;

/**
 * Runs requests against a method table: answers unknown methods and positional params itself,
 * gives each handler an AbortSignal, and turns whatever a handler throws into one error reply
 * (an RpcError as it is, cancellation as -32800, anything else -32603), redacted, without a stack.
 */
export class RequestRunner {
  /** The reply of each running request, by its controller. */
  private readonly running = new Map<AbortController, Promise<unknown>>();
  private refusal: RpcError | undefined;

  constructor(
    private readonly methods: ReadonlyMap<string, RequestHandler>,
    private readonly log: Logger,
  ) {}

  names(): string[] {
    return [...this.methods.keys()];
  }

  /** Later requests are answered with this error instead of being run (the first refusal stays). */
  refuseNewRequests(answer: RpcError): void {
    this.refusal ??= answer;
  }

  /** Aborts every running request; resolves once each has produced its reply. */
  async cancelAll(reason: string): Promise<void> {
    const running = [...this.running];
    for (const [controller] of running) controller.abort(new Error(reason));
    await Promise.allSettled(running.map(([, done]) => done));
  }

  /** Resolves when every running request has finished, without cancelling any. */
  async settled(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running.values()]);
  }

  /**
   * Runs a request under `controller`, which the host's cancellation (and cancelAll) aborts. No
   * async function stays suspended while it runs: the handler's promise, and one reaction.
   */
  run(id: RequestId, method: string, params: unknown, controller: AbortController): Promise<unknown> {
    const { signal } = controller;
    let handled: Promise<unknown>;
    try {
      handled = Promise.resolve(this.start(id, method, params, signal));
    } catch (err) {
      handled = Promise.reject(err);
    }
    const done = handled.then(
      (result) => {
        this.running.delete(controller);
        return result;
      },
      (err: unknown) => {
        this.running.delete(controller);
        throw this.toRpcError(err, method, signal);
      },
    );
    this.running.set(controller, done);
    return done;
  }

  /** The handler's result, or what it throws at once. */
  private start(id: RequestId, method: string, params: unknown, signal: AbortSignal): Promise<unknown> {
    if (this.refusal) throw this.refusal;
    const handler = this.methods.get(method);
    if (!handler) throw new RpcError(RpcErrorCode.MethodNotFound, `Method not found: ${method}`);
    if (Array.isArray(params)) {
      throw new RpcError(RpcErrorCode.InvalidParams, 'Invalid params: params must be an object (by name), not an array', {
        errors: [{ path: '', message: 'must be object' }],
      });
    }
    return handler(params ?? {}, { id, signal });
  }

  private toRpcError(err: unknown, method: string, signal: AbortSignal): RpcError {
    if (err instanceof RpcError) return new RpcError(err.code, redact(err.message), redactValue(err.data));
    if (signal.aborted || isAbortError(err)) return new RpcError(RpcErrorCode.RequestCancelled, 'Request cancelled', { partial: null });
    const e = err as Error | undefined;
    this.log.error(`${method} failed unexpectedly: ${e?.message ?? String(err)}`);
    if (e?.stack) this.log.debug(e.stack);
    const firstLine = (e?.message ?? 'unknown error').split('\n')[0] ?? '';
    return new RpcError(RpcErrorCode.InternalError, `Internal error in ${method}: ${redact(firstLine)}`);
  }
}
