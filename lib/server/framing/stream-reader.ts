import type { Readable } from 'node:stream';
import { AbstractMessageReader, type DataCallback, Disposable, type MessageReader } from 'vscode-jsonrpc/node';
import type { InboundGate } from '../inbound-gate';
import type { FrameDecoder } from './frame-decoder';

/** A vscode-jsonrpc MessageReader over a byte stream, with our own framing and gate. */
export class FramedStreamReader extends AbstractMessageReader implements MessageReader {
  constructor(
    private readonly readable: Readable,
    private readonly decoder: FrameDecoder,
    private readonly gate: InboundGate,
  ) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    this.gate.connect(callback);
    const onData = (chunk: Buffer | string) => this.decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    const onEnd = () => {
      this.decoder.end();
      this.fireClose();
    };
    const onError = (err: Error) => this.fireError(err);
    this.readable.on('data', onData);
    this.readable.once('end', onEnd);
    this.readable.on('error', onError);
    return Disposable.create(() => {
      this.readable.off('data', onData);
      this.readable.off('end', onEnd);
      this.readable.off('error', onError);
    });
  }
}
