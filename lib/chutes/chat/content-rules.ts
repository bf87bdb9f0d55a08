import type { ChatMessage } from '../../generated/types';
import { ChutesError } from '../errors';

/** The server fetches at most this many remote images (http/https URLs) per request. */
export const MAX_REMOTE_MEDIA_URLS = 8;

const MEDIA_PARTS: Record<string, string> = { image_url: 'image_url', video_url: 'video_url' };
const FILE_PARTS = new Set(['file', 'file_url']);

function refuse(message: string, resolution: string): never {
  throw new ChutesError('bad_request', { message: `${message} The request was not sent.`, resolution });
}

/** The URL of an image_url / video_url part ({url} object, or a bare string some clients send). */
function partUrl(part: Record<string, unknown>, field: string): string | undefined {
  const v = part[field];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { url?: unknown }).url === 'string') return (v as { url: string }).url;
  return undefined;
}

/**
 * Content parts Chutes would refuse, refused before a round trip with the server's own reason:
 * `file` / `file_url` parts; media URLs other than data:, http: and https: (on ports 80/443, the only
 * ones the server fetches from); more than 8 remote media URLs in one request.
 */
export function refuseUnsupportedParts(messages: readonly ChatMessage[]): void {
  let remote = 0;
  messages.forEach((m, i) => {
    if (!Array.isArray(m.content)) return;
    for (const part of m.content as Array<Record<string, unknown>>) {
      const type = part.type as string;
      if (FILE_PARTS.has(type)) {
        refuse(
          `message ${i} has a ${type} part, and Chutes answers "File content not currently supported".`,
          'Put the text of the file in a text part, or an image in an image_url part.',
        );
      }
      const field = MEDIA_PARTS[type];
      const url = field ? partUrl(part, field) : undefined;
      if (url === undefined || url.startsWith('data:')) continue;
      let u: URL | undefined;
      try {
        u = new URL(url);
      } catch {
        u = undefined;
      }
      if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || (u.port !== '' && u.port !== '80' && u.port !== '443')) {
        refuse(
          `message ${i} has a ${type} URL that Chutes cannot fetch (${u ? `${u.protocol}//${u.host}` : 'not a URL'}): it fetches only http: and https: URLs on ports 80 and 443.`,
          'Use an http(s) URL on the default port, or send the media inline as a data: URL.',
        );
      }
      if (type === 'image_url') remote++;
    }
  });
  if (remote > MAX_REMOTE_MEDIA_URLS) {
    refuse(
      `The request has ${remote} remote image URLs; Chutes fetches at most ${MAX_REMOTE_MEDIA_URLS} per request.`,
      `Send at most ${MAX_REMOTE_MEDIA_URLS} remote URLs, and the rest inline as data: URLs, or split the request.`,
    );
  }
}
