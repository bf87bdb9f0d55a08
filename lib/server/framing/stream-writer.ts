import type { Writable } from 'node:stream';
import type { Framing } from './frame-decoder';

const LINE_SEPARATORS = /[\u2028\u2029]/g;

/** One message's JSON text, framed for the wire. */
export function frameJson(json: string, framing: Framing): string {
  if (framing === 'ndjson') {
    // Valid JSON either way, but escaped they cannot trip a host that splits lines on U+2028/U+2029.
    return (
      (json.includes('\u2028') || json.includes('\u2029')
        ? json.replace(LINE_SEPARATORS, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'))
        : json) + '\n'
    );
  }
  return `Content-Length: ${Buffer.byteLength(json, 'utf8')}\r\n\r\n${json}`;
}

export function encodeMessage(msg: unknown, framing: Framing): string {
  return frameJson(JSON.stringify(msg), framing);
}

export type RawWrite = (chunk: string, callback: (err?: Error | null) => void) => boolean;

/** Framed text held before the stream is asked to wait: past it, the batch is written at once. */
const DEFAULT_HIGH_WATER_MARK = 256 * 1024;

/**
 * Writes whole messages in the order they are posted. Messages posted in one turn of the event
 * loop leave in one write of their joined text (a burst of deltas costs one syscall, not one
 * each). While the stream has room, posting returns nothing and the poster goes on at once; when
 * the stream is full, the message is still queued in order, and posting returns a promise that
 * resolves at 'drain': awaiting it is what makes a slow host slow down the upstream reads.
 */
export class FramedStreamWriter {
  private batch: string[] = [];
  private batchLength = 0;
  private scheduled = false;
  /** The stream said it is full; nothing more is written to it before 'drain'. */
  private blocked = false;
  private waiting: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } | undefined;
  private lastFlushed: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly writeBatch = () => {
    this.scheduled = false;
    if (!this.blocked) this.writeOut();
  };

  constructor(
    private readonly stream: Writable,
    private readonly rawWrite: RawWrite,
    private readonly framing: () => Framing,
    private readonly beforeResponse?: (reply: { id?: string | number | null }) => void,
    private readonly highWaterMark = DEFAULT_HIGH_WATER_MARK,
  ) {
    stream.on('drain', () => this.onDrain());
    stream.once('close', () => {
      this.closed = true;
      this.batch = [];
      this.batchLength = 0;
      this.waiting?.reject(new Error('output closed'));
      this.waiting = undefined;
    });
  }

  /**
   * Queues a message. Undefined while there is room; otherwise a promise that resolves once the
   * stream drained (rejects if the output closed). The message is queued either way.
   */
  post(msg: object): Promise<void> | undefined {
    const m = msg as { id?: string | number | null; method?: string };
    if (m.method === undefined && 'id' in m) this.beforeResponse?.(m);
    return this.postJson(JSON.stringify(msg));
  }

  /** post() for a message already encoded as JSON (a notification; responses go through post). */
  postJson(json: string): Promise<void> | undefined {
    if (this.closed || this.stream.destroyed) return Promise.reject(new Error('output closed'));
    const framed = frameJson(json, this.framing());
    this.batch.push(framed);
    this.batchLength += framed.length;
    if (this.blocked) return this.room();
    if (this.batchLength >= this.highWaterMark) {
      this.writeOut();
      return this.blocked ? this.room() : undefined;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.writeBatch);
    }
    return undefined;
  }

  /** post(), always as a promise. */
  write(msg: object): Promise<void> {
    return this.post(msg) ?? Promise.resolve();
  }

  /** Whether the output is full: posting now returns a promise to wait on. */
  get backedUp(): boolean {
    return this.blocked;
  }

  /** Resolves when the output has room again (at once if it has); rejects if it closed. */
  room(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('output closed'));
    if (!this.blocked) return Promise.resolve();
    if (!this.waiting) {
      let resolve!: () => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A poster that stopped listening (its call was cancelled) must not make this unhandled.
      promise.catch(() => undefined);
      this.waiting = { promise, resolve, reject };
    }
    return this.waiting.promise;
  }

  /** Resolves when everything posted so far has been handed to the OS (or the output closed). */
  async flush(): Promise<void> {
    while (!this.closed && this.batch.length > 0) {
      if (this.blocked) await this.room().catch(() => undefined);
      else this.writeOut();
    }
    if (!this.closed) await this.lastFlushed;
  }

  private writeOut(): void {
    if (this.batch.length === 0 || this.closed) return;
    const text = this.batch.length === 1 ? this.batch[0]! : this.batch.join('');
    this.batch = [];
    this.batchLength = 0;
    let ok = true;
    this.lastFlushed = new Promise<void>((resolve) => {
      ok = this.rawWrite(text, () => resolve());
    });
    if (!ok) this.blocked = true;
  }

  private onDrain(): void {
    if (!this.blocked) return;
    this.blocked = false;
    // What was posted while the stream was full goes first; it may fill the stream again.
    this.writeOut();
    if (this.blocked) return;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve();
  }
}
