/**
 * Writes `text`, resolving once the stream can take more (so a slow reader slows the producer, not
 * memory), or once it is closed or failed (the command runner sees the error and stops the command).
 */
export function writeDrained(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if ((stream as { destroyed?: boolean }).destroyed || stream.write(text)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
