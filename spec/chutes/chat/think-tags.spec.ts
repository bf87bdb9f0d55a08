import { ChatAssembler, type DeltaFields } from '../../../lib/chutes/chat/assembler';
import { ThinkTagSplitter } from '../../../lib/chutes/chat/think-tags';
import fc from 'fast-check';

const chunk = (content: string) => ({ model: 'm/served', choices: [{ index: 0, delta: { content }, finish_reason: null }] });

/** Feeds `pieces` as content chunks; returns the deltas (flush included) and the message. */
function run(pieces: string[]) {
  const a = new ChatAssembler();
  const deltas = [...pieces.map((p) => a.add(chunk(p))), a.flush()].filter((d): d is DeltaFields => d !== undefined);
  return { deltas, message: a.message() };
}

/** What a host that applies the deltas as documented ends up showing. */
function applied(deltas: DeltaFields[]): { content: string; reasoning: string } {
  let content = '';
  let reasoning = '';
  for (const d of deltas) {
    if (d.contentIsReasoning) {
      reasoning += content;
      content = '';
    }
    reasoning += d.reasoning ?? '';
    content += d.content ?? '';
  }
  return { content, reasoning };
}

describe('inline <think> tags', () => {
  it('splits reasoning out of content, with the tags cut anywhere across chunks', () => {
    const text = '<think>\nThe user greets me.\n</think>\n\nHello there!';
    // Every way of cutting the text in three.
    for (let i = 1; i < text.length - 1; i++) {
      for (let j = i + 1; j < text.length; j++) {
        const { deltas, message } = run([text.slice(0, i), text.slice(i, j), text.slice(j)]);
        expect(message).toEqual({ role: 'assistant', content: 'Hello there!', reasoning: 'The user greets me.\n' });
        expect(applied(deltas)).toEqual({ content: 'Hello there!', reasoning: 'The user greets me.\n' });
      }
    }
  });

  it('handles an implicit open tag: the content before a lone </think> was reasoning, and the host is told to move it', () => {
    const { deltas, message } = run(['Let me think', ' about it.</th', 'ink>\n\nIt is 4.']);
    expect(message).toEqual({ role: 'assistant', content: 'It is 4.', reasoning: 'Let me think about it.' });
    expect(deltas).toEqual([{ content: 'Let me think' }, { content: ' about it.' }, { contentIsReasoning: true, content: 'It is 4.' }]);
    expect(applied(deltas)).toEqual({ content: 'It is 4.', reasoning: 'Let me think about it.' });
  });

  it('leaves text alone that only looks like a tag, and a stream cut inside a tag keeps its text', () => {
    expect(run(['a <b>bold</b> <thinker>']).message).toEqual({ role: 'assistant', content: 'a <b>bold</b> <thinker>' });
    // After a think block, later tags are plain text.
    expect(run(['<think>x</think>Use <think> tags like </think> this']).message.content).toBe('Use <think> tags like </think> this');
    const cut = new ThinkTagSplitter();
    expect(cut.push('<thi')).toEqual({});
    expect(cut.flush()).toEqual({ content: '<thi' });
  });

  it('keeps reasoning_content and inline tags apart in one message', () => {
    const a = new ChatAssembler();
    a.add({ choices: [{ index: 0, delta: { reasoning_content: 'Plan.' } }] });
    a.add(chunk('Answer'));
    a.flush();
    expect(a.message()).toEqual({ role: 'assistant', content: 'Answer', reasoning: 'Plan.' });
  });
});

describe('ChatAssembler, live shapes', () => {
  it('keeps the last cumulative usage (continuous_usage_stats), never a sum, and the served model', () => {
    const a = new ChatAssembler();
    const usage = (c: number) => ({
      prompt_tokens: 20,
      completion_tokens: c,
      total_tokens: 20 + c,
      prompt_tokens_details: { cached_tokens: 4 },
    });
    a.add({ model: 'deepseek-ai/DeepSeek-V3.2-TEE', choices: [{ index: 0, delta: { content: 'a' } }], usage: usage(1) });
    a.add({ model: 'deepseek-ai/DeepSeek-V3.2-TEE', choices: [{ index: 0, delta: { content: 'b' } }], usage: usage(2) });
    a.add({ model: 'deepseek-ai/DeepSeek-V3.2-TEE', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: usage(3) });
    expect(a.usage).toEqual(usage(3));
    expect(a.servedModel).toBe('deepseek-ai/DeepSeek-V3.2-TEE');
  });

  it('marks tool arguments that are not valid JSON (a cut by finishReason length)', () => {
    const a = new ChatAssembler();
    a.add({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'c0', function: { name: 'f', arguments: '{"a": 1}' } }] } }] });
    a.add({
      choices: [{ index: 0, delta: { tool_calls: [{ index: 1, id: 'c1', function: { name: 'g', arguments: '{"city": "Lis' } }] } }],
    });
    a.add({ choices: [{ index: 0, delta: {}, finish_reason: 'length' }] });
    expect(a.message().toolCalls).toEqual([
      { id: 'c0', type: 'function', name: 'f', arguments: '{"a": 1}' },
      { id: 'c1', type: 'function', name: 'g', arguments: '{"city": "Lis', argumentsValid: false },
    ]);
  });
});

describe('inline <think> tags, for any text cut anywhere', () => {
  // Pieces drawn from tag fragments and plain text, so tags, partial tags and '<' alone all occur.
  const piece = fc.oneof(
    fc.constantFrom('<think>', '</think>', '<', '</', '<th', '</thi', 'k>', '>', ' ', '\n', 'a<b', 'x'),
    fc.string({ maxLength: 6 }),
  );
  it('gives the same content and reasoning however the text is split (a piece with no "<" goes straight through)', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), fc.array(fc.nat(), { maxLength: 8 }), (parts, cuts) => {
        const text = parts.join('');
        const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...at].map((from, i) => text.slice(from, [...at, text.length][i])).filter((p) => p !== '');
        const whole = run([text]);
        const split = run(pieces);
        expect(applied(split.deltas)).toEqual(applied(whole.deltas));
        expect(split.message).toEqual(whole.message);
        expect(applied(split.deltas)).toEqual({ content: split.message.content, reasoning: split.message.reasoning ?? '' });
      }),
      { numRuns: 400, seed: 13 },
    );
  });
});
