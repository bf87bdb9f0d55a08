import type { ResolvedConfig } from '../../config/load';
import type { ChatMessage, ChatParams } from '../../generated/types';

const PREFIX = 'chutes/';

/**
 * The upstream model name for a model param: `chutes/X` and `X` both mean `X`. A comma-separated
 * failover list is mapped entry by entry; routing suffixes (`:THINKING`, `:latency`) stay.
 */
export function upstreamModel(model: string): string {
  if (!model.includes(',')) return model.startsWith(PREFIX) ? model.slice(PREFIX.length) : model;
  return model
    .split(',')
    .map((m) => upstreamModel(m.trim()))
    .join(',');
}

/** The plain model ids a (possibly routed) upstream model name names, for metadata lookups. */
export function modelIds(upstream: string): string[] {
  return upstream
    .split(',')
    .map((m) => m.trim().replace(/:[A-Za-z_]+$/, ''))
    .filter((m) => m !== '');
}

/** A model id as results name it: chutes/<upstream id>. */
export function publicModelId(upstream: string): string {
  return upstream.startsWith(PREFIX) ? upstream : PREFIX + upstream;
}

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
 * which win. Names are lowercased so a configured `Authorization` cannot sit beside ours.
 */
export function wireHeaders(opts: {
  token: string;
  config: Pick<ResolvedConfig, 'headers' | 'modelEntries'>;
  upstreamModel: string;
  teeOnly: boolean;
  thinking?: boolean;
  userAgent: string;
}): Record<string, string> {
  const h: Record<string, string> = {};
  const add = (from: Record<string, string> | undefined) => {
    for (const [k, v] of Object.entries(from ?? {})) h[k.toLowerCase()] = v;
  };
  add(opts.config.headers);
  const ids = new Set(modelIds(opts.upstreamModel));
  for (const entry of opts.config.modelEntries) if (ids.has(upstreamModel(entry.id))) add(entry.headers);
  h.authorization = `Bearer ${opts.token}`;
  h['content-type'] = 'application/json';
  h.accept = 'text/event-stream';
  h['user-agent'] = opts.userAgent;
  if (opts.teeOnly) h['x-tee-only'] = 'true';
  if (opts.thinking) h['x-enable-thinking'] = 'true';
  return h;
}
