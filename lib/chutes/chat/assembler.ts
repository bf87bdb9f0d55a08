import type { AssistantMessage, ToolCall, ToolCallDelta, Usage } from '../../generated/types';
import { isToolArgumentsJson } from './tool-arguments';
import { ThinkTagSplitter } from './think-tags';
import { nodeCrypto } from '../../util/lazy-crypto';

/** A `chat.completion.chunk` as the API streams it (OpenAI shape; unknown fields ignored). */
export interface WireChunk {
  id?: string;
  model?: string;
  choices?: WireChoice[];
  usage?: WireUsage | null;
  error?: unknown;
}

interface WireChoice {
  index?: number;
  delta?: WireDelta | null;
  finish_reason?: string | null;
}

interface WireDelta {
  role?: string;
  content?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: WireToolCallDelta[] | null;
}

interface WireToolCallDelta {
  index?: number;
  id?: string | null;
  type?: string;
  function?: { name?: string | null; arguments?: string | null } | null;
}

export interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
}

/** What one chunk adds, as the fields of a chat.delta notification. */
export interface DeltaFields {
  content?: string;
  reasoning?: string;
  /** The content sent so far was reasoning (a model that opened its thinking implicitly). */
  contentIsReasoning?: true;
  toolCalls?: ToolCallDelta[];
}

interface ToolCallState {
  id: string | undefined;
  name: string;
  args: TextBuffer;
}

/**
 * Text appended piece by piece. `a += b` would keep one rope node per piece until the end (200,000
 * of them for a long answer, all promoted to the old generation); pieces are joined every so
 * often instead, so they die young.
 */
class TextBuffer {
  private parts: string[] = [];
  private joined = '';

  /** Empties the buffer, giving what it held. */
  take(): string {
    const s = this.toString();
    this.joined = '';
    return s;
  }

  append(s: string): void {
    if (this.parts.push(s) >= 512) this.compact();
  }

  isEmpty(): boolean {
    return this.joined === '' && this.parts.length === 0;
  }

  toString(): string {
    this.compact();
    return this.joined;
  }

  private compact(): void {
    if (this.parts.length === 0) return;
    this.joined = this.joined + this.parts.join('');
    this.parts = [];
  }
}

/**
 * Folds the chunks of one stream into the assistant message, and says what each chunk adds.
 * Only choice 0 is followed (the adapter never asks for n > 1).
 */
export class ChatAssembler {
  private readonly content = new TextBuffer();
  private readonly reasoning = new TextBuffer();
  private readonly thinkTags = new ThinkTagSplitter();
  /** Made at the first tool call: most answers have none. */
  private tools: Map<number, ToolCallState> | undefined;
  /** Chunks that carried text, reasoning or tool calls. */
  deltas = 0;
  /** Characters of content, reasoning and tool-call arguments so far (what the answer will hold). */
  chars = 0;
  finishReason: string | null = null;
  /** The last usage the stream reported: newer servers send a cumulative one in every chunk, older ones one at the end. */
  usage: WireUsage | undefined;
  /** The model that actually served, as the chunks name it. */
  servedModel: string | undefined;

  add(chunk: WireChunk): DeltaFields | undefined {
    if (typeof chunk.model === 'string' && chunk.model !== '') this.servedModel = chunk.model;
    if (chunk.usage && typeof chunk.usage === 'object') this.usage = chunk.usage;
    const choices = chunk.choices;
    if (!Array.isArray(choices) || choices.length === 0) return undefined;
    const choice = choices.length === 1 ? choices[0] : choices.find((c) => (c?.index ?? 0) === 0);
    if (!choice) return undefined;
    if (typeof choice.finish_reason === 'string' && choice.finish_reason !== '') this.finishReason = choice.finish_reason;
    const d = choice.delta;
    if (!d) return undefined;

    // Engines name it differently; some send both with the same text, so one is taken, never both.
    const r =
      typeof d.reasoning_content === 'string' && d.reasoning_content !== ''
        ? d.reasoning_content
        : typeof d.reasoning === 'string'
          ? d.reasoning
          : undefined;
    let out: DeltaFields | undefined = this.addReasoning(r);
    const text = d.content;
    if (typeof text === 'string' && text !== '') out = merge(out, this.addContent(text));
    const calls = d.tool_calls;
    if (Array.isArray(calls) && calls.length > 0) {
      const mapped: ToolCallDelta[] = [];
      for (let i = 0; i < calls.length; i++) {
        const tc = calls[i];
        if (!tc || typeof tc !== 'object') continue;
        const index = Number.isInteger(tc.index) && tc.index! >= 0 ? tc.index! : i;
        const tools = (this.tools ??= new Map());
        let state = tools.get(index);
        if (!state) {
          state = { id: undefined, name: '', args: new TextBuffer() };
          tools.set(index, state);
        }
        const delta: ToolCallDelta = { index };
        if (typeof tc.id === 'string' && tc.id !== '') {
          state.id = tc.id;
          delta.id = tc.id;
        }
        const fn = tc.function;
        if (fn && typeof fn.name === 'string' && fn.name !== '') {
          // Engines that repeat the name on every chunk repeat it whole: the last one is the name.
          state.name = fn.name;
          delta.name = fn.name;
        }
        if (fn && typeof fn.arguments === 'string' && fn.arguments !== '') {
          state.args.append(fn.arguments);
          delta.argumentsDelta = fn.arguments;
        }
        if (delta.id !== undefined || delta.name !== undefined || delta.argumentsDelta !== undefined) mapped.push(delta);
      }
      if (mapped.length) (out ??= {}).toolCalls = mapped;
    }
    if (out) {
      this.deltas++;
      this.chars += (out.content?.length ?? 0) + (out.reasoning?.length ?? 0);
      if (out.toolCalls) for (const t of out.toolCalls) this.chars += t.argumentsDelta?.length ?? 0;
    }
    return out;
  }

  /** At the end of the stream: text held back to see whether it began a think tag. */
  flush(): DeltaFields | undefined {
    const out = this.apply(this.thinkTags.flush());
    if (out) this.deltas++;
    return out;
  }

  private addReasoning(r: string | undefined): DeltaFields | undefined {
    if (r === undefined || r === '') return undefined;
    this.reasoning.append(r);
    return { reasoning: r };
  }

  /** Content with any inline <think>…</think> taken out into reasoning. */
  private addContent(text: string): DeltaFields | undefined {
    return this.apply(this.thinkTags.push(text));
  }

  private apply(split: { content?: string; reasoning?: string; contentIsReasoning?: true }): DeltaFields | undefined {
    let out: DeltaFields | undefined;
    if (split.contentIsReasoning) {
      const earlier = this.content.take();
      if (earlier !== '') this.reasoning.append(earlier);
      out = { contentIsReasoning: true };
    }
    if (split.reasoning) out = merge(out, this.addReasoning(split.reasoning));
    if (split.content) {
      this.content.append(split.content);
      out = merge(out, { content: split.content });
    }
    return out;
  }

  /** The message assembled so far (whole, or partial when the stream failed). */
  message(): AssistantMessage {
    const m: AssistantMessage = { role: 'assistant', content: this.content.toString() };
    if (!this.reasoning.isEmpty()) m.reasoning = this.reasoning.toString();
    if (this.tools) {
      const calls: ToolCall[] = [];
      for (const index of [...this.tools.keys()].sort((a, b) => a - b)) {
        const t = this.tools.get(index)!;
        // Some engines send no id; the host needs one to answer the call with a tool message.
        t.id ??= `call_${nodeCrypto().randomBytes(9).toString('base64url')}`;
        const call: ToolCall = { id: t.id, type: 'function', name: t.name, arguments: t.args.toString() };
        // Usually cut by finishReason "length": sent back as history, the server would refuse it.
        if (!isToolArgumentsJson(call.arguments)) call.argumentsValid = false;
        calls.push(call);
      }
      m.toolCalls = calls;
    }
    return m;
  }
}

function merge(a: DeltaFields | undefined, b: DeltaFields | undefined): DeltaFields | undefined {
  if (!a) return b;
  if (!b) return a;
  const out: DeltaFields = { ...a };
  if (b.contentIsReasoning) out.contentIsReasoning = true;
  if (b.reasoning !== undefined) out.reasoning = (out.reasoning ?? '') + b.reasoning;
  if (b.content !== undefined) out.content = (out.content ?? '') + b.content;
  return out;
}

function count(n: unknown): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined;
}

/** The API's usage in the result's shape; undefined when the stream reported none. */
export function mapUsage(u: WireUsage | undefined): Usage | undefined {
  if (!u) return undefined;
  const prompt = count(u.prompt_tokens);
  const completion = count(u.completion_tokens);
  if (prompt === undefined && completion === undefined) return undefined;
  const usage: Usage = {
    promptTokens: prompt ?? 0,
    completionTokens: completion ?? 0,
    totalTokens: count(u.total_tokens) ?? (prompt ?? 0) + (completion ?? 0),
  };
  const cached = count(u.prompt_tokens_details?.cached_tokens);
  if (cached !== undefined) usage.cachedTokens = cached;
  return usage;
}

/** A whole (non-streamed) chat.completion, as one chunk: for a server that ignores stream: true. */
export function completionAsChunk(body: Record<string, unknown>): WireChunk {
  const chunk: WireChunk = {};
  if (typeof body.model === 'string') chunk.model = body.model;
  if (body.usage && typeof body.usage === 'object') chunk.usage = body.usage;
  const choices = Array.isArray(body.choices) ? (body.choices as Array<Record<string, unknown>>) : [];
  const first = choices.find((c) => ((c?.index as number | undefined) ?? 0) === 0);
  if (first) {
    const msg = (first.message ?? {}) as Record<string, unknown>;
    const toolCalls = Array.isArray(msg.tool_calls)
      ? (msg.tool_calls as Array<Record<string, unknown>>).map((tc, index) => ({ index, ...tc }))
      : undefined;
    const delta: WireDelta = {};
    if (typeof msg.content === 'string') delta.content = msg.content;
    if (typeof msg.reasoning_content === 'string') delta.reasoning_content = msg.reasoning_content;
    else if (typeof msg.reasoning === 'string') delta.reasoning = msg.reasoning;
    if (toolCalls) delta.tool_calls = toolCalls;
    chunk.choices = [{ index: 0, delta, finish_reason: (first.finish_reason as string | null | undefined) ?? null }];
  }
  return chunk;
}
