import { ChatParamsRefused } from '../chutes/chat/params-refused';
import { CallCancelled, ChutesError } from '../chutes/errors';
import { errorCodes } from '../generated/errors';
import { RpcError } from '../server/rpc-error';

/**
 * The one place provider failures become JSON-RPC errors: a ChutesError gets the code of its type
 * (schemas/errors.json) with its data, chat params Chutes would refuse -32602, a cancelled call -32800
 * with what it had produced.
 */
export function toRpcError(err: unknown): unknown {
  if (err instanceof ChutesError) return new RpcError(errorCodes[err.type], err.message, err.data);
  if (err instanceof ChatParamsRefused) return invalidParams(err.path, err.problem);
  if (err instanceof CallCancelled) {
    const data: { partial: unknown; attempts?: number } = { partial: err.partial };
    if (err.attempts !== undefined) data.attempts = err.attempts;
    return new RpcError(errorCodes.request_cancelled, err.message, data);
  }
  return err;
}

/** -32602 with the problems, for params that the schema accepts but the method cannot. */
export function invalidParams(path: string, message: string): RpcError {
  return new RpcError(errorCodes.invalid_params, `Invalid params: ${message}`, { errors: [{ path, message }] });
}
