import { type FrameDecoder, type FrameSink, leadingBytes, MAX_MESSAGE_BYTES_LIMIT, OVERSIZE_PREFIX_BYTES } from './frame-decoder';

const LF = 0x0a;
const CR = 0x0d;

/**
 * One JSON value per line. Splits on \n only (U+2028/U+2029 inside strings are data), drops a \r
 * before it, skips blank lines. A line over the limit is skipped as it streams in, never held whole.
 */
export class NdjsonDecoder implements FrameDecoder {
  private parts: Buffer[] = [];
  private size = 0;
  private prefix: Buffer | undefined;

  /** The size limit in force: the setting, but never above MAX_MESSAGE_BYTES_LIMIT. */
  readonly maxBytes: number;

  constructor(
    private readonly sink: FrameSink,
    maxBytes: number,
  ) {
    this.maxBytes = Math.min(maxBytes, MAX_MESSAGE_BYTES_LIMIT);
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl);
      this.take(piece);
      if (nl === -1) return;
      this.finishLine();
      start = nl + 1;
    }
  }

  end(): void {
    if (this.size > 0 || this.prefix) this.finishLine();
  }

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    this.size += piece.length;
    if (this.prefix) {
      if (this.prefix.length < OVERSIZE_PREFIX_BYTES) this.prefix = leadingBytes([this.prefix, piece], OVERSIZE_PREFIX_BYTES);
      return;
    }
    if (this.size > this.maxBytes) {
      this.prefix = leadingBytes([...this.parts, piece], OVERSIZE_PREFIX_BYTES);
      this.parts = [];
      return;
    }
    this.parts.push(piece);
  }

  private finishLine(): void {
    const { parts, size, prefix } = this;
    this.parts = [];
    this.size = 0;
    this.prefix = undefined;
    if (prefix) {
      this.sink.oversize(prefix.toString('utf8'), size);
      return;
    }
    let buf = parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts, size);
    if (buf.length > 0 && buf[buf.length - 1] === CR) buf = buf.subarray(0, buf.length - 1);
    const text = buf.toString('utf8');
    if (text.trim() !== '') this.sink.frame(text);
  }
}
