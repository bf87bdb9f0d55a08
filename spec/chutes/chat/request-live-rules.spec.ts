import { wireRequest } from '../../../lib/chutes/chat/request';
import { ChatParamsRefused } from '../../../lib/chutes/chat/params-refused';
import { ChutesError } from '../../../lib/chutes/errors';
import type { ChatMessage, ChatParams } from '../../../lib/generated/types';

const config = { defaultModel: 'chutes/zai-org/GLM-4.7-Flash' };
const user: ChatMessage = { role: 'user', content: 'Weather in Lisbon?' };

function refusal(params: ChatParams): unknown {
  try {
    wireRequest(params, config);
  } catch (err) {
    return err;
  }
  throw new Error('expected the params to be refused');
}

describe('request mapping: the live service rules', () => {
  it('maps an assistant message given back in the result shape to the wire shape, dropping reasoning', () => {
    const returned = {
      role: 'assistant' as const,
      content: '',
      reasoning: 'I should call get_weather.',
      toolCalls: [{ id: 'call_1', type: 'function' as const, name: 'get_weather', arguments: '{"city":"Lisbon"}' }],
    };
    const { body } = wireRequest({ messages: [user, returned, { role: 'tool', tool_call_id: 'call_1', content: '21 C' }] }, config);
    expect(body.messages).toEqual([
      user,
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lisbon"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '21 C' },
    ]);
  });

  it('refuses tool_calls and toolCalls together, and tool arguments that are not JSON, naming the message (-32602 path)', () => {
    const both = refusal({
      messages: [
        user,
        {
          role: 'assistant',
          content: null,
          toolCalls: [{ id: 'a', type: 'function', name: 'f', arguments: '{}' }],
          tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
      ],
    });
    expect(both).toBeInstanceOf(ChatParamsRefused);
    expect((both as ChatParamsRefused).path).toBe('/messages/1/toolCalls');

    const cut = refusal({
      messages: [
        user,
        { role: 'assistant', content: '', toolCalls: [{ id: 'a', type: 'function', name: 'f', arguments: '{"city": "Lis' }] },
      ],
    });
    expect((cut as ChatParamsRefused).path).toBe('/messages/1/toolCalls/0/arguments');
    expect((cut as ChatParamsRefused).problem).toMatch(/message 1: the arguments of tool call 0 \(f\) are not valid JSON.*length/);

    const wire = refusal({
      messages: [
        user,
        { role: 'assistant', content: null, tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: 'x' } }] },
      ],
    });
    expect((wire as ChatParamsRefused).path).toBe('/messages/1/tool_calls/0/function/arguments');
    // Empty arguments are accepted: the server sends them on as "null".
    expect(() =>
      wireRequest(
        { messages: [user, { role: 'assistant', content: '', toolCalls: [{ id: 'a', type: 'function', name: 'f', arguments: '' }] }] },
        config,
      ),
    ).not.toThrow();
  });

  it('sends thinking on and off as chat_template_kwargs with both keys', () => {
    expect(wireRequest({ messages: [user], thinking: false }, config).body.chat_template_kwargs).toEqual({
      thinking: false,
      enable_thinking: false,
    });
    expect(wireRequest({ messages: [user] }, config).body.chat_template_kwargs).toBeUndefined();
  });

  it('passes routing selectors through: a list or the comma form, with a :latency/:throughput suffix ending it', () => {
    expect(wireRequest({ messages: [user], model: ['chutes/a/B', 'c/D:latency'] }, config).upstreamModel).toBe('a/B,c/D:latency');
    expect(wireRequest({ messages: [user], model: 'a/B, chutes/c/D:throughput' }, config).body.model).toBe('a/B,c/D:throughput');
    expect((refusal({ messages: [user], model: 'a/B:latency,c/D' }) as ChatParamsRefused).problem).toMatch(/only end it/);
    expect((refusal({ messages: [user], model: 'a/B,,c/D' }) as ChatParamsRefused).path).toBe('/model');
    expect((refusal({ messages: [user], model: ['a/B', 'chutes/a/B'] }) as ChatParamsRefused).problem).toMatch(/listed twice/);
  });

  it('does not send logprobs, and says so', () => {
    const r = wireRequest({ messages: [user], logprobs: true, topLogprobs: 3 }, config);
    expect(r.body).not.toHaveProperty('logprobs');
    expect(r.body).not.toHaveProperty('top_logprobs');
    expect(r.warnings.join()).toMatch(/logprobs/);
  });

  it('refuses what the server would (-32005 with its reason): file parts, odd image URLs, more than 8 remote images, regex output', () => {
    const parts = (...p: object[]): ChatParams => ({ messages: [{ role: 'user', content: p as never }] });
    const img = (url: string) => ({ type: 'image_url', image_url: { url } });
    const cases: Array<[ChatParams, RegExp]> = [
      [parts({ type: 'file', file: { file_data: 'x' } }), /File content not currently supported/],
      [parts({ type: 'file_url', file_url: { url: 'https://x/y.pdf' } }), /file_url/],
      [parts(img('ftp://example.com/a.png')), /only http: and https:/],
      [parts(img('https://example.com:8443/a.png')), /ports 80 and 443/],
      [parts({ type: 'video_url', video_url: { url: 'file:///etc/passwd' } }), /video_url URL/],
      [parts(...Array.from({ length: 9 }, (_, i) => img(`https://example.com/${i}.png`))), /9 remote image URLs.*at most 8/],
      [
        {
          messages: [user],
          responseFormat: { type: 'json_schema', json_schema: { schema: { properties: { a: { type: 'string', pattern: '^x' } } } } },
        },
        /Regex-based structured output/,
      ],
    ];
    for (const [params, why] of cases) {
      const e = refusal(params);
      expect(e).toBeInstanceOf(ChutesError);
      expect((e as ChutesError).type).toBe('bad_request');
      expect((e as ChutesError).message).toMatch(why);
    }
    // Eight remote images plus data: URLs are fine.
    expect(() =>
      wireRequest(
        parts(...Array.from({ length: 8 }, (_, i) => img(`https://example.com/${i}.png`)), img('data:image/png;base64,iVBO')),
        config,
      ),
    ).not.toThrow();
  });
});
