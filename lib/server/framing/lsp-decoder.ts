import { type FrameDecoder, type FrameSink, leadingBytes, OVERSIZE_PREFIX_BYTES } from './frame-decoder';

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const MAX_HEADER_BYTES = 8 * 1024;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CONTENT_LENGTH = /content-length[ \t]*:/i;

type State =
  | { kind: 'header' }
  | { kind: 'body'; length: number }
  | { kind: 'skip'; length: number; remaining: number; prefix: Buffer }
  | { kind: 'resync' };

/**
 * LSP base protocol: `Content-Length: N\r\n\r\n` then N bytes of UTF-8 JSON. Bad headers are
 * reported and skipped up to the next `Content-Length:`; a body over the limit is skipped as it
 * streams in, keeping only its first bytes.
 */
export class LspDecoder implements FrameDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private state: State = { kind: 'header' };

  constructor(
    private readonly sink: FrameSink,
    private readonly maxBytes: number,
  ) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.parts.push(chunk);
    this.size += chunk.length;
    this.drain();
  }

  end(): void {
    if (this.state.kind === 'skip') {
      this.sink.malformed(`input ended inside a ${this.state.length}-byte message`);
    } else if (this.state.kind === 'body') {
      this.sink.malformed(`input ended after ${this.size} of ${this.state.length} body bytes`);
    } else if (this.state.kind === 'header' && this.size > 0) {
      const rest = this.joined().toString('latin1');
      if (rest.trim() !== '') this.sink.malformed('input ended inside a message header');
    }
    this.parts = [];
    this.size = 0;
    this.state = { kind: 'header' };
  }

  private joined(): Buffer {
    if (this.parts.length !== 1) this.parts = [Buffer.concat(this.parts, this.size)];
    return this.parts[0] ?? Buffer.alloc(0);
  }

  private consume(n: number): Buffer {
    const all = this.joined();
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.parts = rest.length ? [rest] : [];
    this.size = rest.length;
    return head;
  }

  private drain(): void {
    for (;;) {
      const s = this.state;
      if (s.kind === 'header') {
        if (!this.readHeader()) return;
      } else if (s.kind === 'body') {
        if (this.size < s.length) return;
        const body = this.consume(s.length);
        this.state = { kind: 'header' };
        this.sink.frame(body.toString('utf8'));
      } else if (s.kind === 'skip') {
        if (this.size === 0) return;
        const n = Math.min(this.size, s.remaining);
        const piece = this.consume(n);
        if (s.prefix.length < OVERSIZE_PREFIX_BYTES) s.prefix = leadingBytes([s.prefix, piece], OVERSIZE_PREFIX_BYTES);
        s.remaining -= n;
        if (s.remaining > 0) return;
        this.state = { kind: 'header' };
        this.sink.oversize(s.prefix.toString('utf8'), s.length);
      } else if (!this.resync()) {
        return;
      }
    }
  }

  /** Returns false when more input is needed. */
  private readHeader(): boolean {
    const buf = this.joined();
    // Blank lines between messages are tolerated.
    let start = 0;
    while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
    if (start > 0) {
      this.consume(start);
      return this.size > 0;
    }
    const end = buf.indexOf(HEADER_END);
    if (end === -1) {
      if (buf.length > MAX_HEADER_BYTES) return this.fail('no end of header (\\r\\n\\r\\n) within 8 KiB');
      return false;
    }
    const text = buf.subarray(0, end).toString('latin1');
    let length: number | undefined;
    for (const line of text.split('\r\n')) {
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon).trim() : '';
      if (!TOKEN.test(name)) return this.fail(`malformed header line ${JSON.stringify(line.slice(0, 80))}`);
      const value = line.slice(colon + 1).trim();
      const lower = name.toLowerCase();
      if (lower === 'content-length') {
        if (length !== undefined) return this.fail('duplicate Content-Length header');
        if (!/^\d{1,15}$/.test(value)) return this.fail(`bad Content-Length ${JSON.stringify(value.slice(0, 40))}`);
        length = Number(value);
      } else if (lower === 'content-type') {
        const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(value)?.[1]?.toLowerCase();
        if (charset && charset !== 'utf-8' && charset !== 'utf8') return this.fail(`unsupported charset ${charset}`);
      }
    }
    if (length === undefined) return this.fail('missing Content-Length header');
    this.consume(end + HEADER_END.length);
    this.state = length > this.maxBytes ? { kind: 'skip', length, remaining: length, prefix: Buffer.alloc(0) } : { kind: 'body', length };
    return true;
  }

  private fail(reason: string): boolean {
    this.sink.malformed(reason);
    // Skip at least one byte so the same header is not read again, then look for the next message.
    this.consume(1);
    this.state = { kind: 'resync' };
    return true;
  }

  /** Skips to the next `Content-Length:`; returns false when more input is needed. */
  private resync(): boolean {
    const text = this.joined().toString('latin1');
    const m = CONTENT_LENGTH.exec(text);
    if (!m) {
      // Keep a tail in case the header name is split across chunks.
      const keep = Math.min(this.size, 20);
      this.consume(this.size - keep);
      return false;
    }
    this.consume(m.index);
    this.state = { kind: 'header' };
    return true;
  }
}
