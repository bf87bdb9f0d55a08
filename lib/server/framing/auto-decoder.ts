import type { Framing, FrameDecoder } from './frame-decoder';

/**
 * Picks the framing from the first non-whitespace byte: `C`/`c` (Content-Length) means LSP,
 * anything else NDJSON. Then hands every byte to the chosen decoder.
 */
export class AutoDecoder implements FrameDecoder {
  private inner: FrameDecoder | undefined;

  constructor(
    private readonly create: (framing: Framing) => FrameDecoder,
    private readonly detected: (framing: Framing) => void,
  ) {}

  push(chunk: Buffer): void {
    if (!this.inner) {
      let i = 0;
      // A UTF-8 byte order mark some editors and shells put first is not part of any message.
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) i = 3;
      while (i < chunk.length && (chunk[i] === 0x20 || chunk[i] === 0x09 || chunk[i] === 0x0a || chunk[i] === 0x0d)) i++;
      if (i === chunk.length) return;
      const framing: Framing = chunk[i] === 0x43 || chunk[i] === 0x63 ? 'lsp' : 'ndjson';
      this.inner = this.create(framing);
      this.detected(framing);
      chunk = chunk.subarray(i);
    }
    this.inner.push(chunk);
  }

  end(): void {
    this.inner?.end();
  }
}
