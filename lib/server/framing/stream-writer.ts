import type { Writable } from 'node:stream';
import type { Framing } from './frame-decoder';

const LINE_SEPARATORS = /[\u2028\u2029]/g;

/**
 * NDJSON text with U+2028 and U+2029 escaped: valid JSON either way, but escaped they cannot trip a
 * host that splits lines on them. They can only occur inside JSON strings, where the escape means
 * the same character, so a batch of lines is escaped as one text.
 */
export function escapeLineSeparators(text: string): string {
  return text.includes('\u2028') || text.includes('\u2029')
    ? text.replace(LINE_SEPARATORS, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'))
    : text;
}

/** One message's JSON text, framed for the wire. */
export function frameJson(json: string, framing: Framing): string {
  if (framing === 'ndjson') return escapeLineSeparators(json) + '\n';
  return unescapedFrame(json, framing);
}

/** frameJson() without the NDJSON escape, which the writer applies to whole batches. */
function unescapedFrame(json: string, framing: Framing): string {
  return framing === 'ndjson' ? json + '\n' : `Content-Length: ${Buffer.byteLength(json, 'utf8')}\r\n\r\n${json}`;
}

export function encodeMessage(msg: unknown, framing: Framing): string {
  return frameJson(JSON.stringify(msg), framing);
}

export type RawWrite = (chunk: string, callback: (err?: Error | null) => void) => boolean;

/**
 * Text written to the stream in one write at most (and queued before a turn's batch is written
 * early): what a pipe holds. Not more: a string past V8's regular object size (128 KB) is made in
 * its large-object space, which cost a quarter more CPU per delta on one fast stream
 * (bench/cpu-per-delta.bench.js) than writes of this size.
 */
const DEFAULT_HIGH_WATER_MARK = 64 * 1024;
/**
 * Messages joined into one string while they wait. A message built by concatenation is a tree of
 * string pieces several times its length; joined, it costs its length (and many streams' deltas
 * queued behind a slow host stay a fraction of what their tree form would hold).
 */
const MESSAGES_PER_CHUNK = 256;

/**
 * Writes whole messages in the order they are posted. Messages posted in one turn of the event
 * loop leave in one write of their joined text (a burst of deltas costs one syscall, not one
 * each). While the stream has room, posting returns nothing and the poster goes on at once; when
 * the stream is full, the message is still queued in order, and posting returns a promise that
 * resolves once the queue has drained: awaiting it is what makes a slow host slow down the
 * upstream reads. What waits is held here as joined text, and handed to the stream a high-water
 * mark at a time, not copied into it all at once.
 */
export class FramedStreamWriter {
  /** Messages posted since they were last joined into `queue`. */
  private parts: string[] = [];
  /** Joined text waiting for the stream, oldest first. */
  private queue: string[] = [];
  private queuedLength = 0;
  private scheduled = false;
  /** The stream said it is full; nothing more is written to it before 'drain'. */
  private blocked = false;
  /** The promise posters get while the stream is full: resolved at the next 'drain'. */
  private drain: Deferred | undefined;
  /** Callers of room(), released one per turn while there is room, oldest first. */
  private waiters: Deferred[] = [];
  private releasing = false;
  private lastFlushed: Promise<void> = Promise.resolve();
  private closed = false;
  /** Messages in `parts` and `queue`: posted, not yet handed to the stream (an input throttle watches this). */
  private queued = 0;
  /** How many messages each entry of `queue` holds. */
  private queueCounts: number[] = [];
  private belowWaiters: Array<{ count: number; resolve: () => void }> = [];
  private readonly writeBatch = () => {
    this.scheduled = false;
    if (!this.blocked) this.writeOut();
  };
  private replyScheduled = false;
  private readonly writeReplies = () => {
    this.replyScheduled = false;
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
      this.parts = [];
      this.queue = [];
      this.queueCounts = [];
      this.queuedLength = 0;
      this.queued = 0;
      this.releaseBelow();
      const closed = new Error('output closed');
      this.drain?.reject(closed);
      this.drain = undefined;
      for (const w of this.waiters.splice(0)) w.reject(closed);
    });
  }

  /**
   * Queues a message. Undefined while there is room; otherwise a promise that resolves at the
   * stream's next 'drain' (rejects if the output closed). The message is queued either way. The
   * promise may be dropped: none the writer hands out goes unhandled, so a poster that does not wait
   * needs no catch of its own (one per delta behind a full output was a promise, a reaction and a
   * closure each, hundreds of MB for thousands of streams).
   */
  post(msg: object): Promise<void> | undefined {
    const m = msg as { id?: string | number | null; method?: string };
    const reply = m.method === undefined && 'id' in m;
    if (reply) this.beforeResponse?.(m);
    const posted = this.postJson(JSON.stringify(msg));
    if (!reply) return posted;
    // A reply leaves once this turn's microtasks have run, before the next message is handled in
    // a turn of its own, not at the end of the turns queued meanwhile: a host that sent initialize
    // and a chat together otherwise waited for its initialize reply while the chat loaded what it
    // needs (~40 ms). Replies made in one run of microtasks still leave in one write.
    if (!this.replyScheduled && !this.blocked) {
      this.replyScheduled = true;
      queueMicrotask(this.writeReplies);
    }
    return posted;
  }

  /** post() for a message already encoded as JSON (a notification; responses go through post). */
  postJson(json: string): Promise<void> | undefined {
    if (this.closed || this.stream.destroyed) return outputClosed();
    const framed = unescapedFrame(json, this.framing());
    this.queuedLength += framed.length;
    this.queued++;
    // Joined as they wait behind a full stream; otherwise they leave in this turn's one write, joined then.
    if (this.parts.push(framed) >= MESSAGES_PER_CHUNK && this.blocked) this.joinParts();
    if (this.blocked) return this.drained();
    if (this.queuedLength >= this.highWaterMark) {
      this.writeOut();
      return this.blocked ? this.drained() : undefined;
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

  /** Messages posted that the stream has not taken yet (an input throttle watches this). */
  get queuedMessages(): number {
    return this.queued;
  }

  /** Resolves once fewer than `count` messages are queued (at once when the output closed). */
  whenQueuedBelow(count: number): Promise<void> {
    if (this.queued < count || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.belowWaiters.push({ count, resolve }));
  }

  private releaseBelow(): void {
    if (this.belowWaiters.length === 0) return;
    const ready = this.belowWaiters.filter((w) => this.queued < w.count);
    if (ready.length === 0) return;
    this.belowWaiters = this.belowWaiters.filter((w) => this.queued >= w.count);
    for (const w of ready) w.resolve();
  }

  /** Whether the output is full, or others already wait for room: room() would make the caller wait. */
  get backedUp(): boolean {
    return this.blocked || this.waiters.length > 0;
  }

  /**
   * Resolves when the output has room for more (at once if it has and nobody waits before the
   * caller); rejects if it closed. Waiting callers are let go one per turn of the event loop, oldest
   * first: each then adds what it has (a stream reads one more piece) before the next goes, so many
   * streams behind a slow host add a bounded amount, not one piece each at once.
   */
  room(): Promise<void> {
    if (this.closed) return outputClosed();
    if (!this.backedUp) return Promise.resolve();
    const w = deferred();
    this.waiters.push(w);
    return w.promise;
  }

  private drained(): Promise<void> {
    return (this.drain ??= deferred()).promise;
  }

  private readonly releaseWaiter = () => {
    this.releasing = false;
    if (this.blocked || this.closed || this.waiters.length === 0) return;
    if (this.queuedLength >= this.highWaterMark) {
      this.writeOut();
      if (this.blocked) return;
    }
    this.waiters.shift()!.resolve();
    if (this.waiters.length > 0) this.releaseNext();
  };

  private releaseNext(): void {
    if (this.releasing) return;
    this.releasing = true;
    setImmediate(this.releaseWaiter);
  }

  /** Resolves when everything posted so far has been handed to the OS (or the output closed). */
  async flush(): Promise<void> {
    while (!this.closed && this.queuedLength > 0) {
      if (this.blocked) await this.drained().catch(() => undefined);
      else this.writeOut();
    }
    if (!this.closed) await this.lastFlushed;
  }

  private joinParts(): void {
    if (this.parts.length === 0) return;
    this.queue.push(this.parts.length === 1 ? this.parts[0]! : this.parts.join(''));
    this.queueCounts.push(this.parts.length);
    this.parts = [];
  }

  /** Writes what is queued, a high-water mark at a time, until the stream is full. */
  private writeOut(): void {
    this.joinParts();
    while (!this.blocked && !this.closed && this.queue.length > 0) {
      let n = 1;
      let length = this.queue[0]!.length;
      while (n < this.queue.length && length + this.queue[n]!.length <= this.highWaterMark) length += this.queue[n++]!.length;
      const joined = n === 1 ? this.queue[0]! : this.queue.slice(0, n).join('');
      // One scan of the batch instead of one per message (a joined batch is flat: this copies nothing).
      const text = this.framing() === 'ndjson' ? escapeLineSeparators(joined) : joined;
      this.queue.splice(0, n);
      for (const c of this.queueCounts.splice(0, n)) this.queued -= c;
      this.queuedLength -= length;
      let ok = true;
      this.lastFlushed = new Promise<void>((resolve) => {
        ok = this.rawWrite(text, () => resolve());
      });
      if (!ok) this.blocked = true;
    }
    this.releaseBelow();
  }

  private onDrain(): void {
    if (!this.blocked) return;
    this.blocked = false;
    // What was queued while the stream was full goes first; it may fill the stream again.
    this.writeOut();
    if (this.blocked) return;
    const drain = this.drain;
    this.drain = undefined;
    drain?.resolve();
    if (this.waiters.length > 0) this.releaseNext();
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A rejection nobody has to catch, like every promise the writer hands out. */
function outputClosed(): Promise<never> {
  const p = Promise.reject(new Error('output closed'));
  p.catch(() => undefined);
  return p;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A waiter that stopped listening (its call was cancelled) must not make this unhandled.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
