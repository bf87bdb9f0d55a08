import type { Writable } from 'node:stream';
import type { Framing } from './frame-decoder';

const LINE_SEPARATORS = /[\u2028\u2029]/g;

export function encodeMessage(msg: unknown, framing: Framing): string {
  const json = JSON.stringify(msg);
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

export type RawWrite = (chunk: string, callback: (err?: Error | null) => void) => boolean;

/**
 * Writes whole messages in order, one `write` each, so no two interleave. A write resolves at
 * once while the stream has room, and waits for 'drain' when it has none: that wait is what
 * makes a slow host slow down the upstream reads.
 */
export class FramedStreamWriter {
  private tail: Promise<void> = Promise.resolve();
  private lastFlushed: Promise<void> = Promise.resolve();
  private closed = false;
  private corked = false;
  private queued = 0;
  private belowWaiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(
    private readonly stream: Writable,
    private readonly rawWrite: RawWrite,
    private readonly framing: () => Framing,
    private readonly beforeResponse?: (reply: { id?: string | number | null }) => void,
  ) {
    stream.once('close', () => {
      this.closed = true;
    });
  }

  write(msg: object): Promise<void> {
    this.queued++;
    const next = this.tail.then(() => this.send(msg));
    this.tail = next.catch(() => undefined).finally(() => this.dequeued());
    return next;
  }

  /** Messages given to write() that the stream has not taken yet (an input throttle watches this). */
  get queuedMessages(): number {
    return this.queued;
  }

  /** Resolves once fewer than `count` messages are queued. */
  whenQueuedBelow(count: number): Promise<void> {
    if (this.queued < count) return Promise.resolve();
    return new Promise((resolve) => this.belowWaiters.push({ count, resolve }));
  }

  private dequeued(): void {
    this.queued--;
    if (this.belowWaiters.length === 0) return;
    const ready = this.belowWaiters.filter((w) => this.queued < w.count);
    if (ready.length === 0) return;
    this.belowWaiters = this.belowWaiters.filter((w) => this.queued >= w.count);
    for (const w of ready) w.resolve();
  }

  private send(msg: object): Promise<void> {
    if (this.closed || this.stream.destroyed) return Promise.reject(new Error('output closed'));
    const m = msg as { id?: string | number | null; method?: string };
    if (m.method === undefined && 'id' in m) this.beforeResponse?.(m);
    const data = encodeMessage(msg, this.framing());
    // Messages written in the same tick (a burst of deltas) leave in one write to the pipe.
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => {
        this.corked = false;
        this.stream.uncork();
      });
    }
    let ok = true;
    this.lastFlushed = new Promise<void>((resolve) => {
      ok = this.rawWrite(data, () => resolve());
    });
    if (ok) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        if (this.closed) reject(new Error('output closed'));
        else resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
    });
  }

  /** Resolves when everything written so far has been handed to the OS. */
  async flush(): Promise<void> {
    await this.tail;
    if (!this.closed) await this.lastFlushed;
  }
}
