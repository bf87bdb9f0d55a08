import type { Message } from 'vscode-jsonrpc/node';
import { JsonRpcCode } from '../errors';
import type { Logger } from '../log/logger';
import type { FrameSink } from './framing/frame-decoder';
import { recoverId } from './framing/recover-id';

export type RequestId = string | number;

export interface ErrorReply {
  id: RequestId | null;
  code: number;
  message: string;
  data?: unknown;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array (batch requests are not supported)';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function isId(v: unknown): v is RequestId {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

/**
 * Stands between framing and the vscode-jsonrpc connection: parses each message, answers what is
 * not a valid JSON-RPC 2.0 message itself (-32700, -32600), and refuses a request id already in
 * flight, so every request the connection sees can be answered exactly once.
 */
export class InboundGate implements FrameSink {
  private deliver: ((msg: Message) => void) | undefined;
  private readonly inFlight = new Set<RequestId>();
  /** Requests handed to the connection so far. */
  deliveredRequests = 0;

  constructor(
    private readonly reject: (reply: ErrorReply) => void,
    private readonly log: Logger,
    private readonly maxBytes: number,
  ) {}

  connect(deliver: (msg: Message) => void): void {
    this.deliver = deliver;
  }

  /** The reply to `id` is being written: the id may be used again. */
  responded(id: RequestId | null): void {
    if (id !== null) this.inFlight.delete(id);
  }

  frame(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      this.reject({ id: null, code: JsonRpcCode.ParseError, message: `Parse error: ${(err as Error).message}` });
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.reject({ id: null, code: JsonRpcCode.InvalidRequest, message: `Invalid request: the message is ${describe(value)}, not a JSON-RPC object` });
      return;
    }
    const msg = value as Record<string, unknown>;
    const hasId = 'id' in msg;
    const replyId = isId(msg.id) ? msg.id : null;
    const invalid = (why: string) => this.reject({ id: replyId, code: JsonRpcCode.InvalidRequest, message: `Invalid request: ${why}` });
    if (msg.jsonrpc !== '2.0') return invalid('"jsonrpc" must be "2.0"');
    if (!('method' in msg)) {
      if (hasId && ('result' in msg || 'error' in msg)) {
        this.log.debug(`ignoring a response to id ${JSON.stringify(msg.id)}: this server sends no requests`);
        return;
      }
      return invalid('"method" is missing');
    }
    if (typeof msg.method !== 'string' || msg.method === '') return invalid('"method" must be a non-empty string');
    if (hasId && !isId(msg.id)) return invalid('"id" must be a string or a number');
    if ('params' in msg && (msg.params === null || typeof msg.params !== 'object')) {
      if (!hasId) return this.log.warn(`ignoring notification ${msg.method}: params must be an object`);
      return this.reject({ id: replyId, code: JsonRpcCode.InvalidParams, message: 'Invalid params: params must be an object', data: { errors: [{ path: '', message: 'must be object' }] } });
    }
    if (hasId) {
      const id = msg.id as RequestId;
      if (this.inFlight.has(id)) return invalid(`id ${JSON.stringify(id)} is already used by a request in flight`);
      this.inFlight.add(id);
      this.deliveredRequests++;
    }
    this.deliver?.(msg as unknown as Message);
  }

  oversize(prefix: string, size: number): void {
    const id = recoverId(prefix) ?? null;
    this.log.warn(`refused a ${size}-byte message (limit ${this.maxBytes} bytes)${id === null ? '' : ` with id ${JSON.stringify(id)}`}`);
    this.reject({
      id,
      code: JsonRpcCode.InvalidRequest,
      message: `Invalid request: the message is ${size} bytes, over the ${this.maxBytes}-byte limit`,
      data: { type: 'message_too_large', size, limit: this.maxBytes },
    });
  }

  malformed(reason: string): void {
    this.reject({ id: null, code: JsonRpcCode.ParseError, message: `Parse error: ${reason}` });
  }
}
