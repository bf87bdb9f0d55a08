import fc from 'fast-check';
import type { ChatDelta } from '../../lib/generated/types';
import { chatDeltaJson } from '../../lib/methods/chat-delta-json';

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

describe('chatDeltaJson', () => {
  it('writes the same text as JSON.stringify, for any delta (lone surrogates and control characters included)', () => {
    fc.assert(fc.property(delta, (d) => chatDeltaJson(d) === JSON.stringify(d)));
  });
});
