import fc from 'fast-check';
import type { ChatDelta } from '../../lib/generated/types';
import { chatDeltaMessage } from '../../lib/methods/chat-delta-message';

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** A delta built in schema order, as the chat call builds it (absent fields left out). */
const delta: fc.Arbitrary<ChatDelta> = fc
  .record({
    streamId: fc.string({ unit: 'binary' }),
    seq: fc.nat(),
    content: optional(fc.string({ unit: 'binary' })),
    reasoning: optional(fc.string({ unit: 'binary' })),
    contentIsReasoning: optional(fc.constant(true as const)),
    toolCalls: optional(
      fc.array(
        fc.record({ index: fc.nat(), id: fc.string(), name: fc.string(), argumentsDelta: fc.string() }, { requiredKeys: ['index'] }),
      ),
    ),
  })
  .map((d) => {
    const out: ChatDelta = { streamId: d.streamId, seq: d.seq };
    if (d.content !== undefined) out.content = d.content;
    if (d.reasoning !== undefined) out.reasoning = d.reasoning;
    if (d.contentIsReasoning !== undefined) out.contentIsReasoning = d.contentIsReasoning;
    if (d.toolCalls !== undefined) out.toolCalls = d.toolCalls;
    return out;
  });

const stringified = (d: ChatDelta) => JSON.stringify({ jsonrpc: '2.0', method: 'chat.delta', params: d });

describe('chatDeltaMessage', () => {
  it('writes the same text as JSON.stringify, for any delta (lone surrogates and control characters included)', () => {
    fc.assert(fc.property(delta, (d) => chatDeltaMessage(d) === stringified(d)));
  });

  it('keeps each stream its own id when deltas of several streams interleave', () => {
    fc.assert(
      fc.property(fc.array(delta, { minLength: 2, maxLength: 6 }), fc.array(fc.nat(5), { maxLength: 30 }), (ds, order) => {
        for (const i of order) expect(chatDeltaMessage(ds[i % ds.length]!)).toBe(stringified(ds[i % ds.length]!));
      }),
    );
  });
});
