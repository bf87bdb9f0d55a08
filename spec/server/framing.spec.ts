import type { FrameSink } from '../../lib/server/framing/frame-decoder';
import { AutoDecoder } from '../../lib/server/framing/auto-decoder';
import { LspDecoder } from '../../lib/server/framing/lsp-decoder';
import { NdjsonDecoder } from '../../lib/server/framing/ndjson-decoder';
import { recoverId } from '../../lib/server/framing/recover-id';
import { encodeMessage } from '../../lib/server/framing/stream-writer';

type Event = { frame: string } | { oversize: number; prefix: string } | { malformed: string };

function collect(): { sink: FrameSink; events: Event[] } {
  const events: Event[] = [];
  return {
    events,
    sink: {
      frame: (text) => events.push({ frame: text }),
      oversize: (prefix, size) => events.push({ oversize: size, prefix }),
      malformed: (reason) => events.push({ malformed: reason }),
    },
  };
}

const messages = [
  { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} },
  { jsonrpc: '2.0', id: 'é-2', method: 'chat.stream', params: { messages: [{ role: 'user', content: 'héllo 🌍 \u2028 line\u2029sep' }] } },
  { jsonrpc: '2.0', method: 'exit' },
];

function lspBytes(): Buffer {
  return Buffer.concat(messages.map((m) => Buffer.from(encodeMessage(m, 'lsp'), 'utf8')));
}

function ndjsonBytes(): Buffer {
  // Raw U+2028/U+2029 in strings, as a host is free to send them.
  return Buffer.from(messages.map((m) => JSON.stringify(m)).join('\r\n') + '\n', 'utf8');
}

describe.each([
  ['lsp', (s: FrameSink) => new LspDecoder(s, 1 << 20), lspBytes],
  ['ndjson', (s: FrameSink) => new NdjsonDecoder(s, 1 << 20), ndjsonBytes],
] as const)('%s decoder', (_name, make, bytes) => {
  const expected = messages.map((m) => m);

  it('decodes several messages in one chunk', () => {
    const { sink, events } = collect();
    const d = make(sink);
    d.push(bytes());
    d.end();
    expect(events.map((e) => ('frame' in e ? JSON.parse(e.frame) : e))).toEqual(expected);
  });

  it('gives the same messages when the input is split at every byte position', () => {
    const all = bytes();
    for (let cut = 1; cut < all.length; cut++) {
      const { sink, events } = collect();
      const d = make(sink);
      d.push(all.subarray(0, cut));
      d.push(all.subarray(cut));
      d.end();
      expect(events.map((e) => ('frame' in e ? JSON.parse(e.frame) : e))).toEqual(expected);
    }
  });

  it('decodes input fed one byte at a time (multi-byte UTF-8 split across chunks)', () => {
    const all = bytes();
    const { sink, events } = collect();
    const d = make(sink);
    for (let i = 0; i < all.length; i++) d.push(all.subarray(i, i + 1));
    d.end();
    expect(events.map((e) => ('frame' in e ? JSON.parse(e.frame) : e))).toEqual(expected);
  });
});

describe('NDJSON decoder', () => {
  it('splits on \\n only: U+2028 and U+2029 inside strings are data', () => {
    const { sink, events } = collect();
    const d = new NdjsonDecoder(sink, 1024);
    d.push(Buffer.from('{"a":"x\u2028y\u2029z"}\n', 'utf8'));
    expect(events).toEqual([{ frame: '{"a":"x\u2028y\u2029z"}' }]);
  });

  it('skips blank lines and takes a last line without a newline at the end of input', () => {
    const { sink, events } = collect();
    const d = new NdjsonDecoder(sink, 1024);
    d.push(Buffer.from('\n  \r\n{"a":1}\n\n{"b":2}'));
    d.end();
    expect(events).toEqual([{ frame: '{"a":1}' }, { frame: '{"b":2}' }]);
  });

  it('refuses a line over the limit without holding it, keeping its start for the id, then goes on', () => {
    const { sink, events } = collect();
    const d = new NdjsonDecoder(sink, 100);
    const big = `{"jsonrpc":"2.0","id":7,"method":"x","params":{"p":"${'a'.repeat(500)}"}}`;
    for (let i = 0; i < big.length; i += 37) d.push(Buffer.from(big.slice(i, i + 37)));
    d.push(Buffer.from('\n{"ok":true}\n'));
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ oversize: big.length });
    expect(recoverId((events[0] as { prefix: string }).prefix)).toBe(7);
    expect(events[1]).toEqual({ frame: '{"ok":true}' });
  });
});

describe('LSP decoder', () => {
  const ok = encodeMessage({ jsonrpc: '2.0', id: 9, method: 'ok' }, 'lsp');

  function run(input: string, max = 1 << 20): Event[] {
    const { sink, events } = collect();
    const d = new LspDecoder(sink, max);
    d.push(Buffer.from(input, 'utf8'));
    d.end();
    return events;
  }

  it('reports a non-numeric Content-Length and recovers at the next message', () => {
    const events = run(`Content-Length: abc\r\n\r\n{"x":1}${ok}`);
    expect(events[0]).toEqual({ malformed: expect.stringContaining('bad Content-Length') });
    expect(events.slice(1)).toEqual([{ frame: '{"jsonrpc":"2.0","id":9,"method":"ok"}' }]);
  });

  it('reports a duplicate Content-Length', () => {
    const events = run(`Content-Length: 7\r\nContent-Length: 7\r\n\r\n{"x":1}${ok}`);
    expect(events[0]).toEqual({ malformed: 'duplicate Content-Length header' });
    expect(events.at(-1)).toEqual({ frame: '{"jsonrpc":"2.0","id":9,"method":"ok"}' });
  });

  it('reports a missing header end (no blank line) and recovers', () => {
    const events = run(`Content-Length: 7\r\n{"x":1}${ok}`);
    expect(events[0]).toEqual({ malformed: expect.stringContaining('malformed header line') });
    expect(events.at(-1)).toEqual({ frame: '{"jsonrpc":"2.0","id":9,"method":"ok"}' });
  });

  it('reports a header without Content-Length, and one that never ends', () => {
    expect(run(`Content-Type: application/json\r\n\r\n{}`)[0]).toEqual({ malformed: 'missing Content-Length header' });
    expect(run('Content-Length: 5')).toEqual([{ malformed: 'input ended inside a message header' }]);
    expect(run('X'.repeat(9000))[0]).toEqual({ malformed: expect.stringContaining('no end of header') });
  });

  it('refuses a non-UTF-8 charset', () => {
    const events = run(`Content-Length: 2\r\nContent-Type: application/json; charset=latin1\r\n\r\n{}${ok}`);
    expect(events[0]).toEqual({ malformed: 'unsupported charset latin1' });
  });

  it('skips an oversize body without buffering it, then reads the next message', () => {
    const { sink, events } = collect();
    const d = new LspDecoder(sink, 50);
    const body = `{"jsonrpc":"2.0","id":"big","method":"x","params":{"p":"${'b'.repeat(200)}"}}`;
    d.push(Buffer.from(`Content-Length: ${body.length}\r\n\r\n`));
    for (let i = 0; i < body.length; i += 10) d.push(Buffer.from(body.slice(i, i + 10)));
    d.push(Buffer.from(ok));
    expect(events[0]).toMatchObject({ oversize: body.length });
    expect(recoverId((events[0] as { prefix: string }).prefix)).toBe('big');
    expect(events[1]).toEqual({ frame: '{"jsonrpc":"2.0","id":9,"method":"ok"}' });
  });

  it('reports input that ends inside a body', () => {
    expect(run('Content-Length: 10\r\n\r\n{"a"')).toEqual([{ malformed: 'input ended after 4 of 10 body bytes' }]);
  });
});

describe('auto detection', () => {
  it.each([
    ['Content-Length: 2\r\n\r\n{}', 'lsp'],
    ['content-length: 2\r\n\r\n{}', 'lsp'],
    ['{"jsonrpc":"2.0"}\n', 'ndjson'],
    ['  \n{"a":1}\n', 'ndjson'],
  ])('%j is %s', (input, framing) => {
    const seen: string[] = [];
    const { sink, events } = collect();
    const d = new AutoDecoder(
      (f) => (f === 'lsp' ? new LspDecoder(sink, 100) : new NdjsonDecoder(sink, 100)),
      (f) => seen.push(f),
    );
    d.push(Buffer.from(input));
    d.end();
    expect(seen).toEqual([framing]);
    expect(events).toHaveLength(1);
  });
});

describe('recoverId', () => {
  it('finds the top-level id, not one nested in params', () => {
    expect(recoverId('{"jsonrpc":"2.0","params":{"id":5,"x":[{"id":6}]},"id":"top","method":"m"')).toBe('top');
    expect(recoverId('{"id": -12, "method":"m"')).toBe(-12);
    expect(recoverId('{"method":"m","params":{"text":"\\"id\\": 3"')).toBeUndefined();
    expect(recoverId('{"id":12')).toBeUndefined();
  });
});

describe('encodeMessage', () => {
  it('escapes U+2028/U+2029 in NDJSON output so line-splitting hosts are safe', () => {
    const line = encodeMessage({ s: 'a\u2028b\u2029c' }, 'ndjson');
    expect(line).toBe('{"s":"a\\u2028b\\u2029c"}\n');
    expect(JSON.parse(line).s).toBe('a\u2028b\u2029c');
  });

  it('counts Content-Length in bytes, not characters', () => {
    const framed = encodeMessage({ s: 'é🌍' }, 'lsp');
    const body = '{"s":"é🌍"}';
    expect(framed).toBe(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
});
