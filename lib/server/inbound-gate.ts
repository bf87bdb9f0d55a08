import type { Logger } from '../log/logger';
import { redact } from '../log/redact';
import type { FrameSink } from './framing/frame-decoder';
import { recoverId } from './framing/recover-id';
import { RpcErrorCode } from './rpc-error';

export type RequestId = string | number;

/** A message that passed the gate: a request (with id) or a notification. */
export interface InboundMessage {
  jsonrpc: '2.0';
  id?: RequestId;
  method: string;
  params?: object;
}

/**
 * Two requests in flight must differ in this key: the connection queues requests by the string form
 * of their id, so 1 and "1" would be one entry there and one of them would never be answered.
 */
function inFlightKey(id: RequestId): string {
  return String(id);
}

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

// Deeper values would only exhaust the stack of whatever walks them (validation, redaction).
const MAX_DEPTH = 512;

/**
 * Whether a JSON text nests arrays and objects more than `max` deep, told from its characters
 * before it is parsed (a 16 MiB message of nested arrays would otherwise cost a full parse first).
 * Brackets inside strings do not count; the text need not be valid JSON.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  // Each level takes a character: a shorter text cannot be deeper.
  if (text.length <= max) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string, escapes included.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** V8's JSON.parse message without the excerpt of the input it quotes (which may hold a key). */
export function describeJsonError(err: unknown): string {
  const m = (err as Error).message ?? 'not valid JSON';
  return redact(m.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, ' (not valid JSON)'));
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
  private deliver: ((msg: InboundMessage) => void) | undefined;
  private readonly inFlight = new Set<string>();
  private answerWaiters: Array<() => void> = [];
  /** Error replies this gate wrote itself: writing one must not free the id of a request in flight. */
  private readonly ownReplies = new WeakSet<object>();
  /** Messages handed to the connection so far, but for $/cancelRequest (the connection acts on it at once). */
  deliveredMessages = 0;

  constructor(
    private readonly write: (reply: object) => void,
    private readonly log: Logger,
    private readonly maxBytes: number,
  ) {}

  connect(deliver: (msg: InboundMessage) => void): void {
    this.deliver = deliver;
  }

  /** A reply is being written: unless the gate wrote it, its request is done and the id may be used again. */
  responded(reply: { id?: RequestId | null }): void {
    if (!this.ownReplies.has(reply) && reply.id !== undefined && reply.id !== null) this.inFlight.delete(inFlightKey(reply.id));
    if (this.inFlight.size === 0) {
      const waiting = this.answerWaiters;
      this.answerWaiters = [];
      for (const resolve of waiting) resolve();
    }
  }

  /** Resolves once every request let through so far has had its reply written. */
  allAnswered(): Promise<void> {
    if (this.inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.answerWaiters.push(resolve));
  }

  private reject(r: ErrorReply): void {
    const error: Record<string, unknown> = { code: r.code, message: r.message };
    if (r.data !== undefined) error.data = r.data;
    const reply = { jsonrpc: '2.0', id: r.id, error };
    this.ownReplies.add(reply);
    this.write(reply);
  }

  frame(text: string): void {
    if (nestsDeeperThan(text, MAX_DEPTH)) {
      this.reject({
        id: recoverId(text) ?? null,
        code: RpcErrorCode.InvalidRequest,
        message: `Invalid request: the message is nested more than ${MAX_DEPTH} levels deep`,
      });
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    } catch (err) {
      this.reject({ id: null, code: RpcErrorCode.ParseError, message: `Parse error: ${describeJsonError(err)}` });
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.reject({
        id: null,
        code: RpcErrorCode.InvalidRequest,
        message: `Invalid request: the message is ${describe(value)}, not a JSON-RPC object`,
      });
      return;
    }
    const msg = value as Record<string, unknown>;
    const hasId = 'id' in msg;
    const replyId = isId(msg.id) ? msg.id : null;
    const invalid = (why: string) => this.reject({ id: replyId, code: RpcErrorCode.InvalidRequest, message: `Invalid request: ${why}` });
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
      return this.reject({
        id: replyId,
        code: RpcErrorCode.InvalidParams,
        message: 'Invalid params: params must be an object',
        data: { errors: [{ path: '', message: 'must be object' }] },
      });
    }
    if (hasId) {
      const key = inFlightKey(msg.id as RequestId);
      if (this.inFlight.has(key))
        return invalid(`id ${JSON.stringify(msg.id)} is already used by a request in flight (ids are compared by their string form)`);
      this.inFlight.add(key);
    } else if (msg.method === 'notifications/cancelled') {
      // MCP's cancellation is LSP's under another name: the connection knows only $/cancelRequest.
      const requestId = (msg.params as { requestId?: unknown } | undefined)?.requestId;
      if (!isId(requestId)) return this.log.warn('ignoring notifications/cancelled: params.requestId must be a string or a number');
      this.deliver?.({ jsonrpc: '2.0', method: '$/cancelRequest', params: { id: requestId } } as unknown as InboundMessage);
      return;
    } else if (msg.method === '$/cancelRequest' && !isId((msg.params as { id?: unknown } | undefined)?.id)) {
      return this.log.warn('ignoring $/cancelRequest: params.id must be a string or a number');
    }
    if (msg.method !== '$/cancelRequest') this.deliveredMessages++;
    this.deliver?.(msg as unknown as InboundMessage);
  }

  oversize(prefix: string, size: number): void {
    const id = recoverId(prefix) ?? null;
    this.log.warn(`refused a ${size}-byte message (limit ${this.maxBytes} bytes)${id === null ? '' : ` with id ${JSON.stringify(id)}`}`);
    this.reject({
      id,
      code: RpcErrorCode.InvalidRequest,
      message: `Invalid request: the message is ${size} bytes, over the ${this.maxBytes}-byte limit`,
      data: { type: 'message_too_large', size, limit: this.maxBytes },
    });
  }

  malformed(reason: string): void {
    this.reject({ id: null, code: RpcErrorCode.ParseError, message: `Parse error: ${reason}` });
  }
}
