import type { ChutesContext } from '../chutes/context';
import { schemaCatalog } from '../generated/catalog';
import type { MethodName } from '../generated/maps';
import type { ValidatorKey } from '../generated/validator-keys';
import { redactValue, redactValueExcept } from '../log/redact';
import { validate } from '../schema-validation';
import type { RequestHandler, ServerControl } from '../server/server';
import { RpcError, RpcErrorCode } from '../server/rpc-error';
import { accountQuota, chatReport } from './account';
import { authComplete, authLogin, authLogout, authStatus } from './auth';
import { chatComplete, chatStream } from './chat';
import { chatDeltaMessage } from './chat-delta-message';
import { configValidate } from './config';
import { initialize, logSetLevel, ping, shutdown } from './lifecycle';
import type { CallContext, MethodSpec } from './method';
import { modelsDiscover } from './models';
import { withPreload } from './preload';
import { toRpcError } from './rpc-errors';
import { teeVerify } from './tee';

/** Every method the server answers, one per method schema: the compiler checks none is missing. */
const methods: { [M in MethodName]: MethodSpec<M> } = {
  initialize,
  shutdown,
  ping,
  'log.setLevel': logSetLevel,
  'config.validate': configValidate,
  'models.discover': modelsDiscover,
  'auth.login': authLogin,
  'auth.complete': authComplete,
  'auth.status': authStatus,
  'auth.logout': authLogout,
  'chat.stream': chatStream,
  'chat.complete': chatComplete,
  'chat.report': chatReport,
  'account.quota': accountQuota,
  'tee.verify': teeVerify,
};

/**
 * A result may quote the host's input (a profile name, a config path, a model id), and input may
 * hold a key: every string is redacted, except the model's own output in a chat result.
 */
function redactQuotedInput(method: MethodName, result: unknown): unknown {
  return method === 'chat.stream' || method === 'chat.complete' ? redactValueExcept(result, ['message']) : redactValue(result);
}

export const methodNames: readonly string[] = Object.keys(methods);
export const clientNotifications: readonly string[] = schemaCatalog.clientNotifications;
export const serverNotifications: readonly string[] = schemaCatalog.serverNotifications;

/** How the server encodes the notifications sent most (see ServedApp.messageEncoders). */
export const messageEncoders: ReadonlyMap<string, (params: never) => string> = new Map([['chat.delta', chatDeltaMessage]]);

function throwAsRpcError(err: unknown): never {
  throw toRpcError(err);
}

/**
 * The server's method table: each handler gets its params checked against the method's schema
 * (-32602 with every problem), config_invalid when it needs a config that is invalid, and its
 * provider failures mapped to JSON-RPC errors.
 */
export function methodTable(chutes: ChutesContext, server: ServerControl): Map<string, RequestHandler> {
  const table = new Map<string, RequestHandler>();
  const prepareUpstream = () => chutes.prepareUpstream();
  for (const spec of Object.values(methods) as MethodSpec[]) {
    const key = `params:${spec.name}` as ValidatorKey;
    const answer = (result: unknown) => redactQuotedInput(spec.name, result);
    const call: RequestHandler = (params, request) => {
      // Before the params validator: the first call's loads the rest of the serve path, and the V8 flags with it.
      if (spec.reachesUpstream) chutes.loadNetworkModules();
      const problems = validate(key, params);
      if (problems.length) {
        const first = problems[0]!;
        throw new RpcError(RpcErrorCode.InvalidParams, `Invalid params: ${first.path || '(params)'} ${first.message}`, {
          errors: problems,
        });
      }
      const ctx: CallContext = {
        id: request.id,
        signal: request.signal,
        notify: server.notify,
        outputRoom: server.outputRoom,
        chutes,
        server,
      };
      let result: unknown;
      try {
        if (spec.needsConfig) chutes.requireConfig();
        result = spec.handler(params as never, ctx);
      } catch (err) {
        throw toRpcError(err);
      }
      // Reactions made once per method, not an async function per call: nothing stays suspended while a call runs.
      return Promise.resolve(result).then(answer, throwAsRpcError);
    };
    table.set(spec.name, (params, request) => withPreload(methodNames, () => call(params, request), prepareUpstream));
  }
  return table;
}
