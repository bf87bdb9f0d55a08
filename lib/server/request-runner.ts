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

interface Running {
  controller: AbortController;
  done: Promise<unknown>;
}

/**
 * Runs requests against a method table: answers unknown methods and positional params itself,
 * gives each handler an AbortSignal, and turns whatever a handler throws into one error reply
 * (an RpcError as it is, cancellation as -32800, anything else -32603), redacted, without a stack.
 */
export class RequestRunner {
  private readonly running = new Set<Running>();
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
    for (const r of running) r.controller.abort(new Error(reason));
    await Promise.allSettled(running.map((r) => r.done));
  }

  /** Resolves when every running request has finished, without cancelling any. */
  async settled(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running].map((r) => r.done));
  }

  /** Runs a request under `controller`, which the host's cancellation (and cancelAll) aborts. */
  run(id: RequestId, method: string, params: unknown, controller: AbortController): Promise<unknown> {
    const entry: Running = { controller, done: Promise.resolve() };
    entry.done = this.handle(id, method, params, controller.signal).finally(() => this.running.delete(entry));
    this.running.add(entry);
    return entry.done;
  }

  private async handle(id: RequestId, method: string, params: unknown, signal: AbortSignal): Promise<unknown> {
    try {
      if (this.refusal) throw this.refusal;
      const handler = this.methods.get(method);
      if (!handler) throw new RpcError(RpcErrorCode.MethodNotFound, `Method not found: ${method}`);
      if (Array.isArray(params)) {
        throw new RpcError(RpcErrorCode.InvalidParams, 'Invalid params: params must be an object (by name), not an array', {
          errors: [{ path: '', message: 'must be object' }],
        });
      }
      return await handler(params ?? {}, { id, signal });
    } catch (err) {
      throw this.toRpcError(err, method, signal);
    }
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
