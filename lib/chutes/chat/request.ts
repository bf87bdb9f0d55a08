import type { ResolvedConfig } from '../../config/load';
import type { ChatMessage, ChatParams } from '../../generated/types';
import { ChutesError } from '../errors';
import { requestHeaders } from '../http/headers';
import { modelIds, routingSelector, upstreamModel } from '../models/model-id';
import { refuseUnsupportedParts } from './content-rules';
import { ChatParamsRefused } from './params-refused';
import { isToolArgumentsJson } from './tool-arguments';

export interface WireRequest {
  /** The JSON body of POST /chat/completions. */
  body: Record<string, unknown>;
  upstreamModel: string;
  /** What the host should hear about: params accepted but not sent. */
  warnings: string[];
}

function refuseBadArguments(args: string, path: string, what: string): void {
  if (isToolArgumentsJson(args)) return;
  throw new ChatParamsRefused(
    path,
    `${what} are not valid JSON (${JSON.stringify(args.slice(0, 60))}${args.length > 60 ? '…' : ''}), and Chutes refuses such history ` +
      '("Invalid tool_calls.function.arguments value, expected JSON"). A reply cut by finishReason "length" leaves them unfinished ' +
      '(its toolCalls carry argumentsValid: false): repair the arguments, or drop that call and its tool result.',
  );
}

/**
 * One history message in the wire shape. An assistant message may come back exactly as a result
 * returned it: its toolCalls become tool_calls and its reasoning is not sent (the API has no field
 * for it). Tool-call arguments must be JSON. The API has no developer role; it means system there.
 */
function wireMessage(m: ChatMessage, i: number): Record<string, unknown> {
  const { toolCalls, reasoning: _reasoning, ...rest } = m;
  const out: Record<string, unknown> = m.role === 'developer' ? { ...rest, role: 'system' } : rest;
  if (toolCalls !== undefined) {
    if (m.tool_calls !== undefined) {
      throw new ChatParamsRefused(`/messages/${i}/toolCalls`, `message ${i} has both tool_calls and toolCalls: give one of them`);
    }
    toolCalls.forEach((c, j) =>
      refuseBadArguments(
        c.arguments,
        `/messages/${i}/toolCalls/${j}/arguments`,
        `message ${i}: the arguments of tool call ${j} (${c.name})`,
      ),
    );
    if (toolCalls.length > 0) {
      out.tool_calls = toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
    }
  }
  m.tool_calls?.forEach((c, j) =>
    refuseBadArguments(
      c.function.arguments,
      `/messages/${i}/tool_calls/${j}/function/arguments`,
      `message ${i}: the arguments of tool call ${j} (${c.function.name})`,
    ),
  );
  return out;
}

/** Whether a JSON schema uses `pattern` anywhere: the server refuses regex-constrained output. */
function hasPattern(schema: unknown, depth = 0): boolean {
  if (!schema || typeof schema !== 'object' || depth > 64) return false;
  if (Array.isArray(schema)) return schema.some((s) => hasPattern(s, depth + 1));
  return Object.entries(schema).some(([k, v]) => (k === 'pattern' && typeof v === 'string') || hasPattern(v, depth + 1));
}

function wireModel(params: ChatParams, config: Pick<ResolvedConfig, 'defaultModel'>): string {
  if (params.model === undefined) return upstreamModel(config.defaultModel);
  try {
    return routingSelector(params.model);
  } catch (err) {
    throw new ChatParamsRefused('/model', `model: ${(err as Error).message}`);
  }
}

/**
 * The chat/completions body for params: camelCase options to their wire names, messages and tools
 * in the wire shape. What the server would refuse (unfinished tool arguments, file parts, too many
 * remote images, regex output) is refused here instead, with the reason, before anything is sent.
 */
export function wireRequest(params: ChatParams, config: Pick<ResolvedConfig, 'defaultModel'>): WireRequest {
  const model = wireModel(params, config);
  refuseUnsupportedParts(params.messages);
  const warnings: string[] = [];
  const body: Record<string, unknown> = {
    model,
    messages: params.messages.map(wireMessage),
    stream: true,
    // Chutes adds usage to every stream anyway; other OpenAI-compatible servers need asking.
    stream_options: { include_usage: true },
  };
  if (params.tools !== undefined) body.tools = params.tools;
  if (params.toolChoice !== undefined) body.tool_choice = params.toolChoice;
  if (params.responseFormat !== undefined) {
    if (hasPattern(params.responseFormat.json_schema)) {
      throw new ChutesError('bad_request', {
        message:
          'responseFormat.json_schema uses pattern, and Chutes refuses it: "Regex-based structured output (JSON schema \'pattern\' fields) is temporarily disabled." The request was not sent.',
        resolution: 'Remove the pattern keywords from the JSON schema (check the values in your own code instead).',
      });
    }
    body.response_format = params.responseFormat;
  }
  if (params.temperature !== undefined) body.temperature = params.temperature;
  if (params.topP !== undefined) body.top_p = params.topP;
  if (params.maxTokens !== undefined) body.max_tokens = params.maxTokens;
  if (params.stop !== undefined) body.stop = params.stop;
  if (params.seed !== undefined) body.seed = params.seed;
  if (params.reasoningEffort !== undefined) body.reasoning_effort = params.reasoningEffort;
  // The server reads both keys (templates differ in which one they know).
  if (params.thinking !== undefined) body.chat_template_kwargs = { thinking: params.thinking, enable_thinking: params.thinking };
  if (params.logprobs !== undefined || params.topLogprobs !== undefined) {
    warnings.push('logprobs and topLogprobs are not sent: Chutes strips them, so no log probabilities come back');
  }
  return { body, upstreamModel: model, warnings };
}

/** X-Chutes-Trace: true turns the stream into internal trace events, which no caller can read as chat. */
const NEVER_SENT = 'x-chutes-trace';

/**
 * Request headers: the configured extra headers (and a configured model entry's), then ours,
 * which win. X-Chutes-Trace is never sent, whatever the config says.
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
  const headers = requestHeaders({ configured: [opts.config.headers, ...entries], bearer: opts.token, own });
  delete headers[NEVER_SENT];
  return headers;
}
