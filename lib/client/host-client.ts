import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ChatDelta, ChatParams } from '../generated/types';
import type { FrameDecoder, FrameSink, Framing } from '../server/framing/frame-decoder';
import { LspDecoder } from '../server/framing/lsp-decoder';
import { NdjsonDecoder } from '../server/framing/ndjson-decoder';
import { encodeMessage } from '../server/framing/stream-writer';
import { ChatStream } from './chat-stream';
import { ConnectionClosedError } from './connection-closed-error';
import { frameText } from './frame-text';
import { isResponse, outgoing, type RpcId, type RpcMessage } from './message';
import { RpcError } from './rpc-error';

/** The adapter's side of the conversation, from the host's point of view. */
export interface AdapterStreams {
  /** Where messages to the adapter go (its stdin). */
  input: Writable;
  /** Where the adapter's messages come from (its stdout). */
  output: Readable;
  /** The adapter's diagnostics (its stderr), kept as text in `stderr`. */
  stderr?: Readable;
}

export interface HostClientOptions {
  /** Default 'ndjson'. */
  framing?: Framing;
  /** Keep every message and every output byte received, in `messages` and `stdout` (tests, the conformance kit). */
  record?: boolean;
  /** A message over this size is skipped and reported in `malformed`. Default 1 GiB. */
  maxMessageBytes?: number;
}

export interface RequestOptions {
  /** Aborting sends $/cancelRequest; the request then settles with the adapter's reply (code -32800). */
  signal?: AbortSignal;
  /** Default: the next number. */
  id?: RpcId;
}

export interface WaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface SentRequest {
  id: RpcId;
  /** The reply message, result or error. Rejects only when the output ends first. */
  reply: Promise<RpcMessage>;
}

export type Disposer = () => void;
export type MessageListener = (msg: RpcMessage) => void;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a notification's params, typed by the listener
export type NotificationListener = (params: any, msg: RpcMessage) => void;
export type DeltaListener = (delta: ChatDelta) => void;

const STDERR_TAIL_CHARS = 64 * 1024;

/**
 * A JSON-RPC 2.0 host over an adapter's streams: requests with replies routed by id,
 * notifications to listeners, chat.delta routed by streamId, and raw access for tests.
 */
export class HostClient {
  readonly framing: Framing;
  /** Every message received, in order; only with `record`. */
  readonly messages: RpcMessage[] = [];
  /** Output that is not a message: bad frames, text that is not a JSON object, oversize messages. */
  readonly malformed: string[] = [];
  /** What the adapter wrote to stderr: all of it with `record`, else the last 64 Ki characters. */
  stderr = '';
  /** Resolves when the adapter's output ends. */
  readonly outputEnded: Promise<void>;
  private readonly input: Writable;
  private readonly record: boolean;
  private readonly stdoutChunks: Buffer[] = [];
  private stdoutJoined: Buffer | undefined;
  private ended = false;
  private nextId = 1;
  private readonly pending = new Map<RpcId, (msg: RpcMessage) => void>();
  private readonly messageListeners = new Set<MessageListener>();
  private readonly endListeners = new Set<() => void>();
  private readonly deltaRoutes = new Map<string, Set<DeltaListener>>();

  constructor(streams: AdapterStreams, options: HostClientOptions = {}) {
    this.framing = options.framing ?? 'ndjson';
    this.record = options.record ?? false;
    this.input = streams.input;
    // A write after the adapter exited fails with EPIPE; the exit is what the host acts on.
    this.input.on('error', () => undefined);
    const decoder = this.decoder(options.maxMessageBytes ?? 1 << 30);
    streams.output.on('data', (data: Buffer | string) => {
      // Given streams may have an encoding set; the decoders count bytes.
      const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      if (this.record) {
        this.stdoutChunks.push(chunk);
        this.stdoutJoined = undefined;
      }
      decoder.push(chunk);
    });
    this.outputEnded = new Promise((resolve) => {
      const end = () => {
        if (this.ended) return;
        decoder.end();
        this.ended = true;
        for (const l of [...this.endListeners]) l();
        resolve();
      };
      streams.output.once('end', end);
      streams.output.once('close', end);
    });
    if (streams.stderr) {
      const text = new StringDecoder('utf8');
      streams.stderr.on('data', (data: Buffer | string) => this.appendStderr(typeof data === 'string' ? data : text.write(data)));
      streams.stderr.once('end', () => this.appendStderr(text.end()));
    }
  }

  /** All output bytes received; only with `record`. */
  get stdout(): Buffer {
    this.stdoutJoined ??= Buffer.concat(this.stdoutChunks);
    return this.stdoutJoined;
  }

  /** Sends a request and resolves with its result; an error reply rejects with an RpcError. */
  async request<R = unknown>(method: string, params?: unknown, options: RequestOptions = {}): Promise<R> {
    const reply = await this.sendRequest(method, params, options).reply;
    if (reply.error) throw new RpcError(reply.error);
    return reply.result as R;
  }

  /** Sends a request and hands back its id at once, with the reply message to come. */
  sendRequest(method: string, params?: unknown, options: RequestOptions = {}): SentRequest {
    const id = options.id ?? this.nextId++;
    const { signal } = options;
    const reply = new Promise<RpcMessage>((resolve, reject) => {
      if (this.ended) return reject(new ConnectionClosedError(`the reply to ${JSON.stringify(id)}`));
      const cancel = () => this.cancel(id);
      const stopWaiting = this.onEnd(() => {
        this.pending.delete(id);
        signal?.removeEventListener('abort', cancel);
        reject(new ConnectionClosedError(`the reply to ${JSON.stringify(id)}`));
      });
      this.pending.set(id, (msg) => {
        stopWaiting();
        signal?.removeEventListener('abort', cancel);
        resolve(msg);
      });
      this.send(outgoing(method, params, id));
      if (signal?.aborted) cancel();
      else signal?.addEventListener('abort', cancel, { once: true });
    });
    return { id, reply };
  }

  notify(method: string, params?: unknown): void {
    this.send(outgoing(method, params));
  }

  /** Asks the adapter to cancel a request; it still replies to it (code -32800). */
  cancel(id: RpcId): void {
    this.notify('$/cancelRequest', { id });
  }

  /** chat.stream as an async iterator of deltas; see ChatStream. */
  chatStream(params: ChatParams, options: Omit<RequestOptions, 'id'> = {}): ChatStream {
    const id = this.nextId++;
    const streamId = params.streamId ?? String(id);
    // The stream exists before the request leaves: over in-process streams a delta can come back during the write.
    let replyArrives: (reply: Promise<RpcMessage>) => void = () => undefined;
    const stream = new ChatStream(id, streamId, new Promise((resolve) => (replyArrives = resolve)), () => this.cancel(id));
    const stopRouting = this.onDelta(streamId, (delta) => stream.push(delta));
    const { reply } = this.sendRequest('chat.stream', params, { ...options, id });
    // Every delta of a stream comes before its reply.
    void reply.then(stopRouting, stopRouting);
    replyArrives(reply);
    return stream;
  }

  /** Calls `listener` with every message received, in order. */
  onMessage(listener: MessageListener): Disposer {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  /** Calls `listener` with the params of every notification, or of those with the given method. */
  onNotification(listener: NotificationListener): Disposer;
  onNotification(method: string, listener: NotificationListener): Disposer;
  onNotification(a: string | NotificationListener, b?: NotificationListener): Disposer {
    const method = typeof a === 'string' ? a : undefined;
    const listener = typeof a === 'string' ? b : a;
    if (!listener) throw new TypeError('onNotification needs a listener');
    return this.onMessage((msg) => {
      if (msg.method !== undefined && msg.id === undefined && (method === undefined || msg.method === method)) listener(msg.params, msg);
    });
  }

  /** Calls `listener` with the chat.delta notifications of one stream. */
  onDelta(streamId: string, listener: DeltaListener): Disposer {
    let route = this.deltaRoutes.get(streamId);
    if (!route) this.deltaRoutes.set(streamId, (route = new Set()));
    route.add(listener);
    return () => {
      route.delete(listener);
      if (route.size === 0 && this.deltaRoutes.get(streamId) === route) this.deltaRoutes.delete(streamId);
    };
  }

  /** Resolves with the next message received that satisfies `accept`. */
  nextMessage(accept: (msg: RpcMessage) => boolean, options: WaitOptions = {}): Promise<RpcMessage> {
    return new Promise((resolve, reject) => {
      if (this.ended) return reject(new ConnectionClosedError('a matching message'));
      const { timeoutMs, signal } = options;
      const finish = () => {
        stopListening();
        stopWaiting();
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
      };
      const stopListening = this.onMessage((msg) => {
        if (!accept(msg)) return;
        finish();
        resolve(msg);
      });
      const stopWaiting = this.onEnd(() => {
        finish();
        reject(new ConnectionClosedError('a matching message'));
      });
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              finish();
              reject(new Error(`no matching message within ${timeoutMs} ms`));
            }, timeoutMs);
      const abort = () => {
        finish();
        reject(signal?.reason);
      };
      if (signal?.aborted) abort();
      else signal?.addEventListener('abort', abort, { once: true });
    });
  }

  /** Writes one message in this client's framing. */
  send(msg: object): void {
    this.input.write(encodeMessage(msg, this.framing));
  }

  /** Writes a text framed as it is (it need not be JSON). */
  sendFrame(text: string): void {
    this.input.write(frameText(text, this.framing));
  }

  /** Writes bytes as they are, framing and all. */
  sendRaw(bytes: string | Uint8Array): void {
    this.input.write(bytes);
  }

  /** Ends the adapter's input: a well-behaved adapter finishes its work and exits. */
  endInput(): void {
    this.input.end();
  }

  /** Ends the input and waits for the output to end; after `timeoutMs` stops reading it. */
  async close(timeoutMs = 5000): Promise<void> {
    this.endInput();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.outputEnded, late]);
    clearTimeout(timer);
  }

  private decoder(maxBytes: number): FrameDecoder {
    const sink: FrameSink = {
      frame: (text) => this.receive(text),
      oversize: (_prefix, size) => this.malformed.push(`a ${size}-byte message over the size limit`),
      malformed: (reason) => this.malformed.push(reason),
    };
    return this.framing === 'lsp' ? new LspDecoder(sink, maxBytes) : new NdjsonDecoder(sink, maxBytes);
  }

  private receive(text: string): void {
    let msg: RpcMessage;
    try {
      msg = JSON.parse(text) as RpcMessage;
    } catch {
      this.malformed.push(`not JSON: ${text.slice(0, 100)}`);
      return;
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      this.malformed.push(`not a message object: ${text.slice(0, 100)}`);
      return;
    }
    if (this.record) this.messages.push(msg);
    for (const l of [...this.messageListeners]) l(msg);
    if (msg.method === 'chat.delta' && msg.id === undefined) {
      const delta = msg.params as ChatDelta | undefined;
      const route = typeof delta?.streamId === 'string' ? this.deltaRoutes.get(delta.streamId) : undefined;
      for (const l of [...(route ?? [])]) l(delta as ChatDelta);
    } else if (isResponse(msg) && msg.id !== null && msg.id !== undefined) {
      const settle = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      settle?.(msg);
    }
  }

  private onEnd(listener: () => void): Disposer {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  private appendStderr(text: string): void {
    if (!text) return;
    this.stderr += text;
    if (!this.record && this.stderr.length > STDERR_TAIL_CHARS) this.stderr = this.stderr.slice(-STDERR_TAIL_CHARS);
  }
}
