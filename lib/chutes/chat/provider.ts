// The old path of runChat, until lib/methods/chat.ts and lib/cli/commands/chat.ts require ./call: delete then.
export { type ChatRun, runChat } from './call';
