import { type CancellationToken, ResponseError } from 'vscode-jsonrpc/node';
import type { App } from '../app';
import { isAbortError, JsonRpcCode, RpcError } from '../errors';
import type { Logger } from '../log/logger';
import { redact, redactValue } from '../log/redact';
import type { CallContext, MethodSpec, Session } from '../methods/method';
import { validate } from '../schema-validation';

interface Running {
  controller: AbortController;
  done: Promise<unknown>;
}

/**
 * Runs requests: finds the method, validates params against its schema, gives the handler an
 * AbortSignal, and turns whatever it throws into a proper JSON-RPC error (no stack, no secret).
 */
export class MethodDispatcher {
  private readonly methods = new Map<string, MethodSpec>();
  private readonly running = new Set<Running>();
  private shuttingDown = false;

  constructor(
    specs: MethodSpec[],
    private readonly app: App,
    private readonly session: Session,
    private readonly notify: (method: string, params: unknown) => Promise<void>,
    private readonly log: Logger,
  ) {
    for (const spec of specs) this.methods.set(spec.name, spec);
  }

  names(): string[] {
    return [...this.methods.keys()];
  }

  refuseNewRequests(): void {
    this.shuttingDown = true;
  }

  /** Aborts every running request and waits (at most `graceMs`) for their replies to be produced. */
  async cancelAll(graceMs: number): Promise<void> {
    const running = [...this.running];
    for (const r of running) r.controller.abort(new Error('the server is stopping'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(running.map((r) => r.done)),
      new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
  }

  /** Resolves when every running request has finished, without cancelling any. */
  async settled(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running].map((r) => r.done));
  }

  handle(id: string | number, method: string, params: unknown, token: CancellationToken): Promise<unknown> {
    const controller = new AbortController();
    const sub = token.onCancellationRequested(() => controller.abort(new Error('cancelled by the host')));
    if (token.isCancellationRequested) controller.abort(new Error('cancelled by the host'));
    const done = this.run(id, method, params, controller.signal).finally(() => {
      sub.dispose();
      this.running.delete(entry);
    });
    const entry: Running = { controller, done };
    this.running.add(entry);
    return done;
  }

  private async run(id: string | number, method: string, params: unknown, signal: AbortSignal): Promise<unknown> {
    if (this.shuttingDown) throw new ResponseError(JsonRpcCode.InvalidRequest, 'Invalid request: the server is shutting down');
    const spec = this.methods.get(method);
    if (!spec) throw new ResponseError(JsonRpcCode.MethodNotFound, `Method not found: ${method}`);
    if (Array.isArray(params)) {
      throw new ResponseError(JsonRpcCode.InvalidParams, 'Invalid params: params must be an object (by name), not an array', {
        errors: [{ path: '', message: 'must be object' }],
      });
    }
    const value = params ?? {};
    const ctx: CallContext = { id, signal, notify: this.notify, app: this.app, session: this.session };
    try {
      const problems = validate(`params:${method}`, value);
      if (problems.length) {
        const first = problems[0]!;
        throw new ResponseError(JsonRpcCode.InvalidParams, `Invalid params: ${first.path || '(params)'} ${first.message}`, {
          errors: problems,
        });
      }
      if (spec.needsConfig) this.app.requireConfig();
      return await spec.handler(value, ctx);
    } catch (err) {
      throw this.toResponseError(err, method, signal);
    }
  }

  private toResponseError(err: unknown, method: string, signal: AbortSignal): ResponseError<unknown> {
    if (err instanceof ResponseError) return err;
    if (err instanceof RpcError) return new ResponseError(err.code, redact(err.message), redactValue(err.data));
    if (signal.aborted || isAbortError(err)) {
      return new ResponseError(JsonRpcCode.RequestCancelled, 'Request cancelled', { partial: null });
    }
    const e = err as Error;
    this.log.error(`${method} failed unexpectedly: ${e?.message ?? String(err)}`);
    if (e?.stack) this.log.debug(e.stack);
    const firstLine = (e?.message ?? 'unknown error').split('\n')[0];
    return new ResponseError(JsonRpcCode.InternalError, `Internal error in ${method}: ${redact(firstLine!)}`);
  }
}
