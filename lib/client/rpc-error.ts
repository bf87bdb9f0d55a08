import type { RpcErrorObject } from './message';

/** The code of the error reply to a request cancelled with $/cancelRequest. */
export const REQUEST_CANCELLED = -32800;

/**
 * An error reply from the adapter. Provider errors carry `type`, `resolution` and `retryable` in
 * `data`; they are lifted out here when present.
 */
export class RpcError extends Error {
  readonly code: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- whatever the peer sent as data
  readonly data: any;
  readonly type: string | undefined;
  readonly resolution: string | undefined;
  readonly retryable: boolean | undefined;

  constructor(error: RpcErrorObject) {
    super(error.message);
    this.name = 'RpcError';
    this.code = error.code;
    this.data = error.data;
    const data: Record<string, unknown> = error.data !== null && typeof error.data === 'object' ? error.data : {};
    this.type = typeof data.type === 'string' ? data.type : undefined;
    this.resolution = typeof data.resolution === 'string' ? data.resolution : undefined;
    this.retryable = typeof data.retryable === 'boolean' ? data.retryable : undefined;
  }

  get cancelled(): boolean {
    return this.code === REQUEST_CANCELLED;
  }
}
