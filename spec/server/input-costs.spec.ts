import { LspDecoder } from '../../lib/server/framing/lsp-decoder';
import { NdjsonDecoder } from '../../lib/server/framing/ndjson-decoder';
import { MAX_MESSAGE_BYTES_LIMIT } from '../../lib/server/framing/frame-decoder';
import { InboundGate, nestsDeeperThan } from '../../lib/server/inbound-gate';
import { Logger } from '../../lib/log/logger';

const quietLog = new Logger(() => undefined);

describe('what hostile input costs', () => {
  it('caps the message size below what V8 can hold as one string, whatever the setting', () => {
    const sink = { frame: () => undefined, oversize: () => undefined, malformed: () => undefined };
    expect(new NdjsonDecoder(sink, 2 ** 30).maxBytes).toBe(MAX_MESSAGE_BYTES_LIMIT);
    expect(new LspDecoder(sink, 2 ** 30).maxBytes).toBe(MAX_MESSAGE_BYTES_LIMIT);
    expect(MAX_MESSAGE_BYTES_LIMIT).toBeLessThan(require('node:buffer').constants.MAX_STRING_LENGTH);
    expect(new NdjsonDecoder(sink, 4096).maxBytes).toBe(4096);
  });

  it('tells nesting depth from the text, ignoring brackets in strings', () => {
    expect(nestsDeeperThan('['.repeat(600) + ']'.repeat(600), 512)).toBe(true);
    expect(nestsDeeperThan('['.repeat(512) + ']'.repeat(512), 512)).toBe(false);
    expect(nestsDeeperThan(`{"a":"${'['.repeat(1000)}"}`, 512)).toBe(false);
    expect(nestsDeeperThan(`{"a":"\\"${'{'.repeat(1000)}"}`, 512)).toBe(false);
  });

  it('refuses a deeply nested message before parsing it, answering its id', () => {
    const replies: Array<{ id: unknown; error: { code: number } }> = [];
    const gate = new InboundGate((r) => replies.push(r as never), quietLog, 1 << 24);
    const parse = jest.spyOn(JSON, 'parse');
    try {
      gate.frame(`{"jsonrpc":"2.0","id":"deep","method":"x","params":{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`);
      // recoverId parses the id alone; the message itself never reaches JSON.parse.
      expect(parse.mock.calls.every(([text]) => String(text).length < 100)).toBe(true);
    } finally {
      parse.mockRestore();
    }
    expect(replies).toEqual([expect.objectContaining({ id: 'deep', error: expect.objectContaining({ code: -32600 }) })]);
  });

  it('skips malformed LSP input in time linear in its size, however large the chunk', () => {
    const unit = 'Content-Length: nope\r\n\r\nxx content-length:12x\r\n garbage ';
    const run = (bytes: number) => {
      const data = Buffer.from(unit.repeat(Math.ceil(bytes / unit.length)));
      let malformed = 0;
      const decoder = new LspDecoder({ frame: () => undefined, oversize: () => undefined, malformed: () => void malformed++ }, 1 << 24);
      const t0 = process.hrtime.bigint();
      decoder.push(data);
      return { ms: Number(process.hrtime.bigint() - t0) / 1e6, malformed };
    };
    run(64 * 1024); // warm-up
    const small = run(128 * 1024);
    const large = run(4 * 128 * 1024);
    expect(large.malformed).toBeGreaterThan(3 * small.malformed);
    // Linear: about 4x. Quadratic (each skip re-reading the rest of the buffer) is 16x.
    expect(large.ms).toBeLessThan(Math.max(8 * small.ms, 50));
  });
});
