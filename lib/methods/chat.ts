import { e2eeSelectorProblem } from '../chutes/e2ee/chute-target';
import { upstreamModel } from '../chutes/models/model-id';
import type { ChatParams, ChatResult, ChatStatus } from '../generated/types';
import { type CallContext, defineMethod } from './method';
import { invalidParams } from './rpc-errors';

/** Streams in flight by streamId: two at once under one name would make their deltas indistinguishable. */
const activeStreams = new Set<string>();

function run(params: ChatParams, ctx: CallContext, stream: boolean): Promise<ChatResult> {
  // Loaded on the first chat call, not at start-up.
  const { runChat } = require('../chutes/chat/call') as typeof import('../chutes/chat/call');
  const streamId = params.streamId ?? String(ctx.id);
  if ((params.e2ee ?? ctx.chutes.config.e2ee) !== 'off') {
    const model = params.model ?? ctx.chutes.config.defaultModel;
    // A routing list given as an array is the same selector as its comma form.
    const problem = e2eeSelectorProblem(upstreamModel(Array.isArray(model) ? model.join(',') : model));
    if (problem) throw invalidParams('/model', problem);
    params.fallbacks?.forEach((fallback, i) => {
      const refused = e2eeSelectorProblem(upstreamModel(fallback));
      if (refused) throw invalidParams(`/fallbacks/${i}`, refused);
    });
  }
  const onStatus = (status: ChatStatus) => ctx.notify('chat.status', status);
  if (!stream) return runChat(ctx.chutes, { params, streamId, signal: ctx.signal, onStatus });
  if (activeStreams.has(streamId))
    throw invalidParams('/streamId', `streamId ${JSON.stringify(streamId)} is already used by a stream in flight`);
  activeStreams.add(streamId);
  // Not awaited here: this function's frame is not kept for the length of the stream.
  return runChat(ctx.chutes, {
    params,
    streamId,
    signal: ctx.signal,
    onStatus,
    // Deltas are queued in order however full the output is; what the host has not read yet is
    // bounded by pausing the upstream after each read of its body until the output has room.
    onDelta: (delta) => void ctx.notify('chat.delta', delta),
    outputRoom: ctx.outputRoom,
  }).finally(() => activeStreams.delete(streamId));
}

/** Streaming chat: chat.delta notifications as the answer arrives, then the assembled result. */
export const chatStream = defineMethod('chat.stream', (params, ctx) => run(params, ctx, true), {
  needsConfig: true,
  reachesUpstream: true,
});

/** The same call and result without notifications. */
export const chatComplete = defineMethod('chat.complete', (params, ctx) => run(params, ctx, false), {
  needsConfig: true,
  reachesUpstream: true,
});
