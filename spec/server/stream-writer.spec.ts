import { Writable } from 'node:stream';
import { FramedStreamWriter } from '../../lib/server/framing/stream-writer';

/** A stream that accepts `room` bytes before it says it is full, and drains when told to. */
function slowStream(highWaterMark: number) {
  const written: string[] = [];
  let release: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark,
    decodeStrings: false,
    write(chunk: string, _enc, cb) {
      written.push(chunk);
      release.push(cb);
    },
  });
  const drain = () => {
    const now = release;
    release = [];
    for (const cb of now) cb();
  };
  const writer = new FramedStreamWriter(
    stream,
    (chunk, cb) => stream.write(chunk, 'utf8', cb),
    () => 'ndjson',
    undefined,
    1024,
  );
  return { stream, writer, written, drain, text: () => written.join('') };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('FramedStreamWriter', () => {
  it('returns nothing while there is room, and writes a turn of messages in one write, in order', async () => {
    const { writer, written, text } = slowStream(1 << 20);
    for (let i = 0; i < 50; i++) expect(writer.post({ n: i })).toBeUndefined();
    await turn();
    expect(written).toHaveLength(1);
    expect(
      text()
        .split('\n')
        .slice(0, -1)
        .map((l) => JSON.parse(l).n),
    ).toEqual([...Array(50).keys()]);
  });

  it('writes a reply before the turns queued after it run, with the notifications posted before it', async () => {
    const { writer, written } = slowStream(1 << 20);
    const seenByLaterTurn = new Promise<string[]>((resolve) => setImmediate(() => resolve([...written])));
    expect(writer.post({ jsonrpc: '2.0', method: 'chat.delta', params: { n: 0 } })).toBeUndefined();
    await Promise.resolve();
    expect(writer.post({ jsonrpc: '2.0', id: 1, result: {} })).toBeUndefined();
    expect(writer.post({ jsonrpc: '2.0', id: 2, result: {} })).toBeUndefined();
    const early = await seenByLaterTurn;
    expect(early).toHaveLength(1);
    expect(
      early[0]!
        .split('\n')
        .slice(0, -1)
        .map((l) => JSON.parse(l).id ?? 'delta'),
    ).toEqual(['delta', 1, 2]);
  });

  it('escapes U+2028/U+2029 in every NDJSON message it writes, and only there', async () => {
    const { writer, text } = slowStream(1 << 20);
    expect(writer.post({ s: 'a\u2028b' })).toBeUndefined();
    expect(writer.postJson('{"s":"c\u2029d"}')).toBeUndefined();
    expect(writer.post({ s: 'plain' })).toBeUndefined();
    await turn();
    expect(text()).toBe('{"s":"a\\u2028b"}\n{"s":"c\\u2029d"}\n{"s":"plain"}\n');
    expect(
      text()
        .split('\n')
        .slice(0, -1)
        .map((l) => JSON.parse(l).s),
    ).toEqual(['a\u2028b', 'c\u2029d', 'plain']);

    const lspOut: string[] = [];
    const lsp = new FramedStreamWriter(
      new Writable({ write: (_c, _e, cb) => cb() }),
      (c, cb) => (lspOut.push(c), cb(), true),
      () => 'lsp',
    );
    expect(lsp.post({ s: 'a\u2028b' })).toBeUndefined();
    await turn();
    const body = '{"s":"a\u2028b"}';
    expect(lspOut.join('')).toBe(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });

  it('when the stream is full: queues in order, says so, and lets room() waiters go oldest first once it drained', async () => {
    const { writer, drain, text } = slowStream(16);
    const big = 'x'.repeat(2000);
    // Past the high-water mark: written at once, and the stream is full now.
    expect(writer.post({ n: 0, big })).toBeInstanceOf(Promise);
    expect(writer.backedUp).toBe(true);
    const waited = writer.post({ n: 1 });
    expect(waited).toBeInstanceOf(Promise);
    const order: string[] = [];
    const first = writer.room().then(() => order.push('first'));
    const second = writer.room().then(() => order.push('second'));
    void writer.post({ n: 2 });
    // The host reads on: every write is taken a moment later.
    const host = setInterval(drain, 1);
    try {
      await waited;
      await Promise.all([first, second]);
      await writer.flush();
    } finally {
      clearInterval(host);
    }
    expect(order).toEqual(['first', 'second']);
    expect(
      text()
        .split('\n')
        .slice(0, -1)
        .map((l) => JSON.parse(l).n),
    ).toEqual([0, 1, 2]);
  });

  it('rejects what waits when the output closes', async () => {
    const { stream, writer } = slowStream(16);
    void writer.post({ big: 'x'.repeat(2000) });
    const waiting = writer.room();
    stream.destroy();
    await expect(waiting).rejects.toThrow('output closed');
    await expect(writer.post({ n: 1 })).rejects.toThrow('output closed');
  });

  it('hands out promises a poster may drop: none goes unhandled, full or closed', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      const { stream, writer } = slowStream(16);
      void writer.post({ big: 'x'.repeat(2000) });
      void writer.post({ n: 1 });
      stream.destroy();
      void writer.post({ n: 2 });
      void writer.postJson('{"n":3}');
      for (let i = 0; i < 3; i++) await turn();
    } finally {
      process.off('unhandledRejection', record);
    }
    expect(unhandled).toEqual([]);
  });
});
