import { parseJsonOrUndefined } from '../../util/json';

/**
 * Whether text is what Chutes accepts as tool-call arguments in history: JSON, or empty (which it
 * sends on as "null"). Anything else is refused with 400 "Invalid tool_calls.function.arguments value".
 */
export function isToolArgumentsJson(text: string): boolean {
  return text.trim() === '' || parseJsonOrUndefined(text) !== undefined;
}
