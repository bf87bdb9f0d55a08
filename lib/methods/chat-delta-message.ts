import type { ChatDelta } from '../generated/types';

/**
 * The fields chat.delta has, in the order they are written. Adding one to the schema breaks the
 * build here until chatDeltaMessage writes it too.
 */
const FIELDS = { streamId: true, seq: true, content: true, reasoning: true, contentIsReasoning: true, toolCalls: true } satisfies Record<
  keyof ChatDelta,
  true
>;
void FIELDS;

/** The streamId last written, and the message's text up to its seq: a stream's deltas mostly come one after another. */
let lastStreamId: string | undefined;
let lastPrefix = '';

/**
 * A whole chat.delta notification as JSON: the same text JSON.stringify gives for
 * `{jsonrpc, method, params}` with the delta built in field order, written from a template in as
 * few concatenations as possible (each one is a string node the writer's join has to walk), with
 * only the strings stringified. One is sent for every piece of every answer: the hottest path
 * there is (bench/cpu-per-delta.bench.js).
 */
export function chatDeltaMessage(d: ChatDelta): string {
  if (d.streamId !== lastStreamId) {
    lastStreamId = d.streamId;
    lastPrefix = `{"jsonrpc":"2.0","method":"chat.delta","params":{"streamId":${JSON.stringify(d.streamId)},"seq":`;
  }
  if (d.content !== undefined && d.reasoning === undefined && d.contentIsReasoning === undefined && d.toolCalls === undefined) {
    return `${lastPrefix}${d.seq},"content":${JSON.stringify(d.content)}}}`;
  }
  let s = `${lastPrefix}${d.seq}`;
  if (d.content !== undefined) s += `,"content":${JSON.stringify(d.content)}`;
  if (d.reasoning !== undefined) s += `,"reasoning":${JSON.stringify(d.reasoning)}`;
  if (d.contentIsReasoning !== undefined) s += `,"contentIsReasoning":${JSON.stringify(d.contentIsReasoning)}`;
  if (d.toolCalls !== undefined) s += `,"toolCalls":${JSON.stringify(d.toolCalls)}`;
  return `${s}}}`;
}
