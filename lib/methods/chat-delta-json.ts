import type { ChatDelta } from '../generated/types';

/**
 * The fields chat.delta has, in the order they are written. Adding one to the schema breaks the
 * build here until chatDeltaJson writes it too.
 */
const FIELDS = { streamId: true, seq: true, content: true, reasoning: true, contentIsReasoning: true, toolCalls: true } satisfies Record<
  keyof ChatDelta,
  true
>;
void FIELDS;

/** The streamId last encoded, and its JSON: a stream's deltas usually follow one another. */
let lastStreamId: string | undefined;
let lastStreamIdJson = '';

/**
 * A chat.delta's params as JSON, the same text JSON.stringify gives for a delta built in field
 * order, written from a template: only the strings are stringified. One is sent for every piece
 * of every answer, so this is on the hottest path (bench/cpu-per-delta.bench.js).
 */
export function chatDeltaJson(d: ChatDelta): string {
  if (d.streamId !== lastStreamId) {
    lastStreamId = d.streamId;
    lastStreamIdJson = JSON.stringify(d.streamId);
  }
  let s = `{"streamId":${lastStreamIdJson},"seq":${d.seq}`;
  if (d.content !== undefined) s += `,"content":${JSON.stringify(d.content)}`;
  if (d.reasoning !== undefined) s += `,"reasoning":${JSON.stringify(d.reasoning)}`;
  if (d.contentIsReasoning !== undefined) s += `,"contentIsReasoning":${JSON.stringify(d.contentIsReasoning)}`;
  if (d.toolCalls !== undefined) s += `,"toolCalls":${JSON.stringify(d.toolCalls)}`;
  return `${s}}`;
}
