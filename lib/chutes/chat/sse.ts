import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceParser, type ParseError } from 'eventsource-parser';

/** One thing found in an event stream: an event's data, or a line that is not SSE at all. */
export type SseItem =
  | { kind: 'event'; data: string; event?: string }
  /** A line that is no SSE field, such as the raw `{"error": ...}` Chutes writes when a stream fails. */
  | { kind: 'raw'; line: string };

/** The largest event (or unterminated line) the decoder holds: far above any real chunk. */
export const MAX_EVENT_CHARS = 8 * 1024 * 1024;
/** How much of a non-SSE line is kept: enough for any error body. */
const MAX_RAW_LINE_CHARS = 64 * 1024;
/** How much of the end of the text is kept, to see a last `data: [DONE]` line. */
const TAIL_CHARS = 32;

/**
 * Bytes in, SSE items out. UTF-8 is decoded in streaming mode (a character split across TCP
 * chunks is joined), and the event grammar (CR, LF or CRLF line ends, comments, keep-alives,
 * multi-line data, events split anywhere) is eventsource-parser's: a well-kept parser that is
 * also fast (see bench/chat.bench.js). Lines that are not SSE fields are reported as `raw`
 * instead of dropped, because that is how an upstream error arrives mid-stream.
 */
export class SseDecoder {
  /**
   * Not TextDecoder: in Node 20 that is an ICU converter (native memory for every open stream, and
   * UTF-16 output copied again); this is V8's own UTF-8 decoding, with the same replacement
   * characters. A byte order mark is taken off the start here, as TextDecoder would. Made at the
   * first piece that ends inside a character: until then each piece is decoded whole, the same way,
   * and an open stream holds no decoder.
   */
  private text: StringDecoder | undefined;
  private atStart = true;
  private readonly parser: EventSourceParser;
  private items: SseItem[] = [];
  private overflow: ParseError | undefined;
  /** Whether the text fed last ended with CR, which may be the first half of a CRLF. */
  private pendingCr = false;
  /** The end of the text fed so far, to recognise a last `data: [DONE]` that no blank line closed. */
  private tail = '';

  constructor(maxEventChars = MAX_EVENT_CHARS) {
    this.parser = createParser({
      onEvent: (e) => {
        this.items.push(e.event === undefined ? { kind: 'event', data: e.data } : { kind: 'event', data: e.data, event: e.event });
      },
      onError: (err) => {
        if (err.type === 'unknown-field' && err.line !== undefined && err.line.trim() !== '') {
          this.items.push({ kind: 'raw', line: err.line.length > MAX_RAW_LINE_CHARS ? err.line.slice(0, MAX_RAW_LINE_CHARS) : err.line });
        } else if (err.type === 'max-buffer-size-exceeded') {
          this.overflow = err;
        }
        // invalid-retry: a reconnection hint, meaningless for one POST.
      },
      maxBufferSize: maxEventChars,
    });
  }

  /** Feeds bytes; returns the items they completed (possibly none). */
  push(bytes: Uint8Array): SseItem[] {
    let s =
      this.text === undefined && bytes.length > 0 && bytes[bytes.length - 1]! < 0x80
        ? (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)).toString('utf8')
        : (this.text ??= new StringDecoder('utf8')).write(bytes);
    if (this.atStart && s !== '') {
      this.atStart = false;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    if (s !== '') this.feed(s);
    return this.take();
  }

  private feed(s: string): void {
    this.parser.feed(s);
    const last = s.charCodeAt(s.length - 1);
    this.pendingCr = last === 13;
    if (last === 10 && s.charCodeAt(s.length - 2) === 10) {
      // Text that ends with a blank line has no unterminated last line: nothing to keep. (A slice of
      // the piece would keep all of it alive, in V8, until the next piece: a piece per open stream.)
      this.tail = '';
    } else {
      // Slicing the piece itself: a slice of (tail + piece) would copy the whole piece every time.
      this.tail = s.length >= TAIL_CHARS ? s.slice(-TAIL_CHARS) : (this.tail + s).slice(-TAIL_CHARS);
    }
  }

  /** The stream ended: flushes a partial character and an unterminated last line. */
  end(): SseItem[] {
    let s = this.text?.end() ?? '';
    if (this.atStart && s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    if (s !== '' && !this.overflow) this.feed(s);
    // The parser holds back a final CR in case an LF follows; at the end it is a line end.
    if (this.pendingCr && !this.overflow) this.parser.feed('\n');
    // An unterminated line is parsed as a line (a raw error written without a newline shows up);
    // an event never closed by a blank line is dropped, as the SSE spec says, except a last
    // `data: [DONE]`: the stream did finish, only its final blank line is missing.
    if (!this.overflow) this.parser.reset({ consume: true });
    if (!this.overflow && /(^|\n)data: ?\[DONE\]\r?\n?$/.test(this.tail)) this.items.push({ kind: 'event', data: '[DONE]' });
    return this.take();
  }

  private take(): SseItem[] {
    if (this.overflow) throw new Error(`the upstream stream sent an event or line over ${MAX_EVENT_CHARS} characters`);
    if (this.items.length === 0) return NONE;
    const out = this.items;
    this.items = [];
    return out;
  }
}

const NONE: SseItem[] = [];

/**
 * The items of an event stream read by iterating it (the warm-up, the E2EE decryption; the chat call feeds an SseDecoder itself), in the batches each read of the body completes:
 * `for await (const items of sseEvents(body))`. One step of the iterator per read, not per event,
 * keeps the async machinery off the per-event path. A read error, or an event over the size
 * limit, is thrown from the loop; leaving the loop early destroys the body (which drops the
 * connection, and stops the upstream).
 */
export async function* sseEvents(
  body: AsyncIterable<Uint8Array>,
  maxEventChars = MAX_EVENT_CHARS,
): AsyncGenerator<readonly SseItem[], void, undefined> {
  const decoder = new SseDecoder(maxEventChars);
  for await (const bytes of body) {
    const items = decoder.push(bytes);
    if (items.length) yield items;
  }
  const last = decoder.end();
  if (last.length) yield last;
}
