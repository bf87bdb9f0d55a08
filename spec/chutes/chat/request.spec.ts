import { wireHeaders, wireRequest } from '../../../lib/chutes/chat/request';
import { modelIds, publicModelId, upstreamModel } from '../../../lib/chutes/models/model-id';
import type { ChatParams } from '../../../lib/generated/types';

describe('request mapping', () => {
  it('maps chutes/X and X to the upstream X, entry by entry in a failover list, keeping routing suffixes', () => {
    expect(upstreamModel('chutes/zai-org/GLM-4.7-Flash')).toBe('zai-org/GLM-4.7-Flash');
    expect(upstreamModel('zai-org/GLM-4.7-Flash')).toBe('zai-org/GLM-4.7-Flash');
    expect(upstreamModel('chutes/a/B:THINKING, c/D')).toBe('a/B:THINKING,c/D');
    expect(modelIds('a/B:THINKING,c/D:latency')).toEqual(['a/B', 'c/D']);
    expect(publicModelId('a/B')).toBe('chutes/a/B');
  });

  it('maps camelCase params to the wire names and passes messages and tools through', () => {
    const image = { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' as const } };
    const params: ChatParams = {
      model: 'chutes/Qwen/Qwen3-32B-TEE',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'What is this?' }, image] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '42' },
      ],
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      toolChoice: { type: 'function', function: { name: 'f' } },
      responseFormat: { type: 'json_object' },
      temperature: 0.2,
      topP: 0.9,
      maxTokens: 64,
      stop: ['\n\n'],
      seed: 7,
      reasoningEffort: 'low',
      thinking: true,
      teeOnly: true,
      streamId: 's',
      profile: 'p',
    };
    const { body, upstreamModel: model } = wireRequest(params, { defaultModel: 'chutes/zai-org/GLM-4.7-Flash' });
    expect(model).toBe('Qwen/Qwen3-32B-TEE');
    expect(body).toEqual({
      model: 'Qwen/Qwen3-32B-TEE',
      messages: [{ role: 'system', content: 'Be brief.' }, params.messages[1], params.messages[2], params.messages[3]],
      stream: true,
      stream_options: { include_usage: true },
      tools: params.tools,
      tool_choice: params.toolChoice,
      response_format: { type: 'json_object' },
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 64,
      stop: ['\n\n'],
      seed: 7,
      reasoning_effort: 'low',
      chat_template_kwargs: { thinking: true, enable_thinking: true },
    });
    // Extensions are not sent in the body; the original developer message is left alone.
    expect(params.messages[0].role).toBe('developer');
  });

  it('uses the configured default model when none is given', () => {
    expect(wireRequest({ messages: [{ role: 'user', content: 'hi' }] }, { defaultModel: 'chutes/zai-org/GLM-4.7-Flash' }).body.model).toBe(
      'zai-org/GLM-4.7-Flash',
    );
  });

  it('sends the bearer token, X-TEE-Only and X-Enable-Thinking, and configured headers that cannot replace ours', () => {
    const h = wireHeaders({
      token: 'cpk_test_fake_key',
      config: {
        headers: { 'X-Extra': '1', Authorization: 'Bearer other', 'X-Chutes-Trace': 'true' },
        modelEntries: [
          { id: 'chutes/a/B', headers: { 'X-Model': 'b' } },
          { id: 'c/D', headers: { 'X-Not': 'd' } },
        ],
      },
      upstreamModel: 'a/B',
      teeOnly: true,
      thinking: true,
      userAgent: 'chutes-rpc/test',
    });
    expect(h).toEqual({
      'x-extra': '1',
      'x-model': 'b',
      authorization: 'Bearer cpk_test_fake_key',
      'content-type': 'application/json',
      accept: 'text/event-stream',
      'user-agent': 'chutes-rpc/test',
      'x-tee-only': 'true',
      'x-enable-thinking': 'true',
    });
    const plain = wireHeaders({
      token: 't',
      config: { headers: {}, modelEntries: [] },
      upstreamModel: 'a/B',
      teeOnly: false,
      userAgent: 'u',
    });
    expect(plain['x-tee-only']).toBeUndefined();
    expect(plain['x-enable-thinking']).toBeUndefined();
  });
});
