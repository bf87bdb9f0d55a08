import * as path from 'node:path';
import fc from 'fast-check';
import { ChatAssembler } from '../../../lib/chutes/chat/assembler';
import { type SseItem, SseDecoder } from '../../../lib/chutes/chat/sse';
import { readCassette, responseBodyText } from '../../../lib/chutes/cassette/cassette-file';
import { ROOT } from '../../helpers/rpc-process';

function decodeAll(parts: Uint8Array[]): SseItem[] {
  const d = new SseDecoder();
  const out: SseItem[] = [];
  for (const p of parts) out.push(...d.push(p));
  out.push(...d.end());
  return out;
}

function cassetteBody(name: string): Buffer {
  const c = readCassette(path.join(ROOT, 'fixtures', 'cassettes', name));
  return Buffer.from(responseBodyText(c.interactions[c.interactions.length - 1]!.response), 'utf8');
}

/** The recorded stream, and the same events written every other legal way. */
const recorded = cassetteBody('chat-text.json');
const text = recorded.toString('utf8');
const variants: Record<string, Buffer> = {
  recorded,
  crlf: Buffer.from(text.replace(/\n/g, '\r\n')),
  cr: Buffer.from(text.replace(/\n/g, '\r')),
  'comments, keep-alives and other fields': Buffer.from(
    ': keep-alive\n\n' + text.replace(/\n\n/g, '\n\n: ping\n\nevent: message\nid: 7\nretry: 1000\n'),
  ),
  'no space after data:': Buffer.from(text.replace(/data: /g, 'data:')),
};

describe('SseDecoder', () => {
  const reference = decodeAll([recorded]);

  it('finds every event of the recorded stream, [DONE] last', () => {
    expect(reference.every((i) => i.kind === 'event')).toBe(true);
    expect(reference).toHaveLength(9);
    expect(reference.at(-1)).toEqual({ kind: 'event', data: '[DONE]' });
    const asm = new ChatAssembler();
    for (const i of reference.slice(0, -1)) asm.add(JSON.parse((i as { data: string }).data));
    expect(asm.message().content).toBe('Hello! 👋 How can I help you today?');
  });

  it.each(Object.keys(variants))('gives the same events whatever the line ends and extras (%s)', (name) => {
    const items = decodeAll([variants[name]!]).map((i) => (i.kind === 'event' ? i.data : i));
    expect(items).toEqual(reference.map((i) => (i as { data: string }).data));
  });

  it.each(Object.keys(variants))('gives the same events for a split at every byte, UTF-8 characters included (%s)', (name) => {
    const body = variants[name]!;
    const expected = decodeAll([body]);
    // The emoji is four bytes: some of these splits fall inside it.
    expect(body.indexOf(Buffer.from('👋'))).toBeGreaterThan(0);
    for (let i = 0; i <= body.length; i++) {
      const got = decodeAll([body.subarray(0, i), body.subarray(i)]);
      if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`split at byte ${i} of ${name} differs`);
    }
  });

  it('gives the same events fed one byte at a time, and in random three-way splits', () => {
    const expected = decodeAll([recorded]);
    expect(decodeAll([...recorded].map((b) => Uint8Array.of(b)))).toEqual(expected);
    let seed = 42;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    for (let k = 0; k < 500; k++) {
      const a = rnd(recorded.length);
      const b = a + rnd(recorded.length - a);
      expect(decodeAll([recorded.subarray(0, a), recorded.subarray(a, b), recorded.subarray(b)])).toEqual(expected);
    }
  });

  it('joins multi-line data with newlines', () => {
    expect(decodeAll([Buffer.from('data: {"a":\ndata: 1}\n\n')])).toEqual([{ kind: 'event', data: '{"a":\n1}' }]);
  });

  it('reports a raw JSON error line (no data: prefix) instead of dropping it, with or without a final newline', () => {
    const head = 'data: {"choices":[{"delta":{"content":"Once"}}]}\n\n';
    const raw = '{"error":"Unhandled exception during response stream: boom"}';
    for (const tail of ['', '\n']) {
      const body = Buffer.from(head + raw + tail);
      for (let i = 0; i <= body.length; i++) {
        expect(decodeAll([body.subarray(0, i), body.subarray(i)])).toEqual([
          { kind: 'event', data: '{"choices":[{"delta":{"content":"Once"}}]}' },
          { kind: 'raw', line: raw },
        ]);
      }
    }
  });

  it('drops an event the stream never closed with a blank line', () => {
    expect(decodeAll([Buffer.from('data: a\n\ndata: b\n')])).toEqual([{ kind: 'event', data: 'a' }]);
  });

  it('strips a UTF-8 byte order mark at the start', () => {
    expect(decodeAll([Buffer.from([0xef, 0xbb]), Buffer.from([0xbf, ...Buffer.from('data: x\n\n')])])).toEqual([
      { kind: 'event', data: 'x' },
    ]);
  });

  it('decodes any bytes, split anywhere, to the text a WHATWG TextDecoder gives (replacement characters included)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat(), { maxLength: 6 }), (raw, cuts) => {
        // One event whose data is the bytes (line ends taken out, so it stays one data line).
        const body = Buffer.concat([Buffer.from('data: '), Buffer.from(raw.filter((b) => b !== 10 && b !== 13)), Buffer.from('\n\n')]);
        const at = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
        const parts = [0, ...at].map((from, i) => body.subarray(from, [...at, body.length][i]));
        const expected = new TextDecoder()
          .decode(body)
          .replace(/^data: ?/, '')
          .replace(/\n\n$/, '');
        expect(decodeAll(parts)).toEqual([{ kind: 'event', data: expected }]);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('keeps the event type', () => {
    expect(decodeAll([Buffer.from('event: error\ndata: {"error":"x"}\n\n')])).toEqual([
      { kind: 'event', event: 'error', data: '{"error":"x"}' },
    ]);
  });

  it('refuses an event over the size limit instead of buffering without bound', () => {
    const d = new SseDecoder(1000);
    expect(() => d.push(Buffer.from('data: ' + 'x'.repeat(2000)))).toThrow(/over/);
  });
});

describe('SseDecoder at the end of a stream', () => {
  const enc = new TextEncoder();

  it.each(['data: [DONE]', 'data: [DONE]\n', 'data:[DONE]\r\n'])('takes a last %j that no blank line closed as the end', (last) => {
    const d = new SseDecoder();
    const items = [...d.push(enc.encode(`data: {"a":1}\n\n${last}`)), ...d.end()];
    expect(items).toEqual([
      { kind: 'event', data: '{"a":1}' },
      { kind: 'event', data: '[DONE]' },
    ]);
  });

  it('still drops any other event that no blank line closed', () => {
    const d = new SseDecoder();
    const items = [...d.push(enc.encode('data: {"a":1}\n\ndata: {"b":')), ...d.end()];
    expect(items).toEqual([{ kind: 'event', data: '{"a":1}' }]);
  });
});
