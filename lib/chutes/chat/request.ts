import type { ResolvedConfig } from '../../config/load';
import type { ChatMessage, ChatParams } from '../../generated/types';
import { requestHeaders } from '../http/headers';
import { modelIds, upstreamModel } from '../models/model-id';

function wireMessage(m: ChatMessage): ChatMessage {
  // The API has no developer role; it means system there.
  return m.role === 'developer' ? { ...m, role: 'system' } : m;
}

export interface WireRequest {
  /** The JSON body of POST /chat/completions. */
  body: Record<string, unknown>;
  upstreamModel: string;
}

/**
 * The chat/completions body for params: camelCase options to their wire names, messages and
 * tools passed through as they are (text, image_url parts, tool calls and results).
 */
export function wireRequest(params: ChatParams, config: Pick<ResolvedConfig, 'defaultModel'>): WireRequest {
  const model = upstreamModel(params.model ?? config.defaultModel);
  const body: Record<string, unknown> = {
    model,
    messages: params.messages.map(wireMessage),
    stream: true,
    // Chutes adds usage to every stream anyway; other OpenAI-compatible servers need asking.
    stream_options: { include_usage: true },
  };
  if (params.tools !== undefined) body.tools = params.tools;
  if (params.toolChoice !== undefined) body.tool_choice = params.toolChoice;
  if (params.responseFormat !== undefined) body.response_format = params.responseFormat;
  if (params.temperature !== undefined) body.temperature = params.temperature;
  if (params.topP !== undefined) body.top_p = params.topP;
  if (params.maxTokens !== undefined) body.max_tokens = params.maxTokens;
  if (params.stop !== undefined) body.stop = params.stop;
  if (params.seed !== undefined) body.seed = params.seed;
  if (params.reasoningEffort !== undefined) body.reasoning_effort = params.reasoningEffort;
  return { body, upstreamModel: model };
}

/**
 * Request headers: the configured extra headers (and a configured model entry's), then ours,
 * which win.
 */
export function wireHeaders(opts: {
  token: string;
  config: Pick<ResolvedConfig, 'headers' | 'modelEntries'>;
  upstreamModel: string;
  teeOnly: boolean;
  thinking?: boolean;
  userAgent: string;
}): Record<string, string> {
  const ids = new Set(modelIds(opts.upstreamModel));
  const entries = opts.config.modelEntries.filter((entry) => ids.has(upstreamModel(entry.id))).map((entry) => entry.headers);
  const own: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream', 'user-agent': opts.userAgent };
  if (opts.teeOnly) own['x-tee-only'] = 'true';
  if (opts.thinking) own['x-enable-thinking'] = 'true';
  return requestHeaders({ configured: [opts.config.headers, ...entries], bearer: opts.token, own });
}
