import { ChatAssembler, completionAsChunk, mapUsage } from '../../../lib/chutes/chat/assembler';

const chunk = (delta: object, extra: object = {}) => ({ model: 'm/served', choices: [{ index: 0, delta, finish_reason: null }], ...extra });

describe('ChatAssembler', () => {
  it('assembles two tool calls whose arguments are split across chunks, and reports each piece', () => {
    const a = new ChatAssembler();
    const deltas = [
      a.add(chunk({ role: 'assistant', content: '' })),
      a.add(chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] })),
      a.add(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })),
      a.add(chunk({ tool_calls: [{ index: 1, id: 'call_b', function: { name: 'get_time', arguments: '{"tz"' } }] })),
      a.add(
        chunk({
          tool_calls: [
            { index: 0, function: { arguments: '"Paris"}' } },
            { index: 1, function: { arguments: ':"UTC"}' } },
          ],
        }),
      ),
      a.add({ model: 'm/served', choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }),
    ];
    expect(deltas).toEqual([
      undefined,
      { toolCalls: [{ index: 0, id: 'call_a', name: 'get_weather' }] },
      { toolCalls: [{ index: 0, argumentsDelta: '{"city":' }] },
      { toolCalls: [{ index: 1, id: 'call_b', name: 'get_time', argumentsDelta: '{"tz"' }] },
      {
        toolCalls: [
          { index: 0, argumentsDelta: '"Paris"}' },
          { index: 1, argumentsDelta: ':"UTC"}' },
        ],
      },
      undefined,
    ]);
    expect(a.message()).toEqual({
      role: 'assistant',
      content: '',
      toolCalls: [
        { id: 'call_a', type: 'function', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { id: 'call_b', type: 'function', name: 'get_time', arguments: '{"tz":"UTC"}' },
      ],
    });
    expect(a.finishReason).toBe('tool_calls');
    expect(a.deltas).toBe(4);
    expect(a.servedModel).toBe('m/served');
  });

  it('takes the reasoning field that has text when the other is empty', () => {
    const a = new ChatAssembler();
    expect(a.add(chunk({ reasoning_content: '', reasoning: 'C' }))).toEqual({ reasoning: 'C' });
    expect(a.message().reasoning).toBe('C');
  });

  it('takes reasoning from reasoning_content or reasoning, and only once when an engine sends both', () => {
    const a = new ChatAssembler();
    expect(a.add(chunk({ reasoning_content: 'one ' }))).toEqual({ reasoning: 'one ' });
    expect(a.add(chunk({ reasoning: 'two ' }))).toEqual({ reasoning: 'two ' });
    expect(a.add(chunk({ reasoning_content: 'three', reasoning: 'three' }))).toEqual({ reasoning: 'three' });
    expect(a.add(chunk({ content: 'answer', reasoning_content: null }))).toEqual({ content: 'answer' });
    expect(a.message()).toEqual({ role: 'assistant', content: 'answer', reasoning: 'one two three' });
  });

  it('gives an id to a tool call that came without one, and keeps the last whole name', () => {
    const a = new ChatAssembler();
    a.add(chunk({ tool_calls: [{ function: { name: 'f', arguments: '{' } }] }));
    a.add(chunk({ tool_calls: [{ function: { name: 'f', arguments: '}' } }] }));
    const [call] = a.message().toolCalls!;
    expect(call).toEqual({ id: expect.stringMatching(/^call_[A-Za-z0-9_-]+$/), type: 'function', name: 'f', arguments: '{}' });
    expect(a.message().toolCalls![0]!.id).toBe(call!.id);
  });

  it('maps the usage chunk (choices: []) with cached tokens', () => {
    const a = new ChatAssembler();
    expect(
      a.add({
        choices: [],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 4 } },
      }),
    ).toBeUndefined();
    expect(mapUsage(a.usage)).toEqual({ promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 4 });
    expect(mapUsage({ prompt_tokens: 3, completion_tokens: 2, prompt_tokens_details: null })).toEqual({
      promptTokens: 3,
      completionTokens: 2,
      totalTokens: 5,
    });
    expect(mapUsage(undefined)).toBeUndefined();
  });

  it('reads a whole completion as one chunk', () => {
    const a = new ChatAssembler();
    a.add(
      completionAsChunk({
        model: 'm',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: 'hi',
              reasoning_content: 'r',
              tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
            },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      }),
    );
    expect(a.message()).toEqual({
      role: 'assistant',
      content: 'hi',
      reasoning: 'r',
      toolCalls: [{ id: 'c', type: 'function', name: 'f', arguments: '{}' }],
    });
    expect(a.finishReason).toBe('stop');
  });
});
