import type { ChatParams, ChatResult } from '../generated/types';
import { type CallContext, defineMethod } from './method';

function run(params: ChatParams, ctx: CallContext, stream: boolean): Promise<ChatResult> {
  // Loaded on the first chat call, not at start-up.
  const { runChat } = require('../chutes/chat/provider') as typeof import('../chutes/chat/provider');
  const streamId = params.streamId ?? String(ctx.id);
  return runChat(ctx.app, {
    params,
    streamId,
    signal: ctx.signal,
    // Awaited: while the host reads slowly, the writer holds this promise and the upstream waits.
    ...(stream ? { onDelta: (delta) => ctx.notify('chat.delta', delta) } : {}),
  });
}

/** Streaming chat: chat.delta notifications as the answer arrives, then the assembled result. */
export const chatStream = defineMethod<ChatParams, ChatResult>({
  name: 'chat.stream',
  needsConfig: true,
  handler: (params, ctx) => run(params, ctx, true),
});

/** The same call and result without notifications. */
export const chatComplete = defineMethod<ChatParams, ChatResult>({
  name: 'chat.complete',
  needsConfig: true,
  handler: (params, ctx) => run(params, ctx, false),
});
