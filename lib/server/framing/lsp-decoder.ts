import { type FrameDecoder, type FrameSink, leadingBytes, MAX_MESSAGE_BYTES_LIMIT, OVERSIZE_PREFIX_BYTES } from './frame-decoder';

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
const MAX_HEADER_BYTES = 8 * 1024;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const CONTENT_LENGTH = Buffer.from('content-length', 'latin1');

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

  /** The size limit in force: the setting, but never above MAX_MESSAGE_BYTES_LIMIT. */
  readonly maxBytes: number;

  constructor(
    private readonly sink: FrameSink,
    maxBytes: number,
  ) {
    this.maxBytes = Math.min(maxBytes, MAX_MESSAGE_BYTES_LIMIT);
  }

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
    const early = earlyProblem(buf);
    if (early) return this.fail(early);
    // Only a header's worth is searched: garbage without a header end costs O(8 KiB), not O(input).
    const end = buf.subarray(0, MAX_HEADER_BYTES + HEADER_END.length).indexOf(HEADER_END);
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

  /**
   * Skips to the next `Content-Length` header name (any case); returns false when more input is
   * needed. Each byte is looked at once, so skipping garbage costs time linear in its size.
   */
  private resync(): boolean {
    const buf = this.joined();
    const last = buf.length - CONTENT_LENGTH.length;
    for (let i = 0; i <= last; i++) {
      if ((buf[i]! | 0x20) !== 0x63 || !matchesIgnoringCase(buf, i, CONTENT_LENGTH)) continue;
      this.consume(i);
      this.state = { kind: 'header' };
      return true;
    }
    // Keep a tail in case the header name is split across chunks.
    this.consume(Math.max(0, buf.length - (CONTENT_LENGTH.length - 1)));
    return false;
  }
}

/**
 * A header that starts with a bad Content-Length line, told from its first bytes (so that garbage
 * full of "Content-Length" costs no header-sized search per occurrence); undefined when the
 * header does not start with Content-Length, looks right so far, or needs more bytes to tell.
 */
function earlyProblem(buf: Buffer): string | undefined {
  if (buf.length < CONTENT_LENGTH.length || !matchesIgnoringCase(buf, 0, CONTENT_LENGTH)) return undefined;
  let j = CONTENT_LENGTH.length;
  const ws = (b: number | undefined) => b === 0x20 || b === 0x09;
  while (ws(buf[j])) j++;
  if (j >= buf.length) return undefined;
  if (buf[j] !== 0x3a) return `malformed header line ${JSON.stringify(buf.subarray(0, Math.min(j + 1, 80)).toString('latin1'))}`;
  j++;
  while (ws(buf[j])) j++;
  const digitsFrom = j;
  while (j < buf.length && buf[j]! >= 0x30 && buf[j]! <= 0x39) j++;
  while (ws(buf[j])) j++;
  if (j >= buf.length) return j - digitsFrom > 20 ? 'bad Content-Length (too long)' : undefined;
  if (buf[j] === 0x0d && j > digitsFrom) return undefined;
  return `bad Content-Length ${JSON.stringify(buf.subarray(digitsFrom, Math.min(j + 1, digitsFrom + 40)).toString('latin1'))}`;
}

/** Whether `buf` holds `lower` (lowercase ASCII letters and '-') at `at`, in any case. */
function matchesIgnoringCase(buf: Buffer, at: number, lower: Buffer): boolean {
  for (let j = 0; j < lower.length; j++) {
    const b = buf[at + j]!;
    const want = lower[j]!;
    if (b !== want && (want < 0x61 || want > 0x7a || (b | 0x20) !== want)) return false;
  }
  return true;
}
