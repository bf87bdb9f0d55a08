import type { Framing } from '../server/framing/frame-decoder';

/**
 * Frames a text as it is, JSON or not: for tests that send what a message encoder never would
 * (broken JSON, values that are not requests).
 */
export function frameText(text: string, framing: Framing): string {
  return framing === 'lsp' ? `Content-Length: ${Buffer.byteLength(text, 'utf8')}\r\n\r\n${text}` : `${text}\n`;
}
