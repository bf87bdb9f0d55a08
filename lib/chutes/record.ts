import * as fs from 'node:fs';
import { SnapshotAgent } from 'undici';
import type { Cassette, CassetteInteraction, CassetteResponse } from '../generated/types';
import { redact, redactValue } from '../log/redact';

const DROPPED_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-api-key', 'proxy-authorization'];
// Response headers that only describe one connection; they would mislead on replay.
const TRANSIENT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding']);

/** A dispatcher that talks to the real service and, on close, writes what it saw as a cassette. */
export function recordingDispatcher(file: string): { dispatcher: SnapshotAgent; close: () => Promise<void> } {
  const agent = new SnapshotAgent({ mode: 'record', excludeHeaders: DROPPED_HEADERS });
  const close = async () => {
    const interactions: CassetteInteraction[] = [];
    for (const snap of agent.getRecorder().getSnapshots()) {
      for (const r of snap.responses) {
        const request: CassetteInteraction['request'] = { method: snap.request.method, url: snap.request.url };
        if (snap.request.body) request.body = redactValue(parseJson(snap.request.body) ?? snap.request.body);
        interactions.push({ request, response: toResponse(r.statusCode, r.headers, Buffer.from(r.body, 'base64').toString('utf8')) });
      }
    }
    const cassette: Cassette = { version: 1, description: `recorded by chutes-rpc --record`, interactions };
    fs.writeFileSync(file, JSON.stringify(cassette, null, 2) + '\n', { mode: 0o600 });
    await agent.close();
  };
  return { dispatcher: agent, close };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toResponse(status: number, rawHeaders: Record<string, string | string[]>, text: string): CassetteResponse {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(rawHeaders)) {
    const key = k.toLowerCase();
    if (TRANSIENT_HEADERS.has(key) || DROPPED_HEADERS.includes(key)) continue;
    headers[key] = redact(Array.isArray(v) ? v.join(', ') : String(v));
  }
  const response: CassetteResponse = { status, headers };
  const clean = redact(text);
  if ((headers['content-type'] ?? '').includes('text/event-stream')) {
    const sse = parseSse(clean);
    if (sse) {
      response.sse = sse;
      return response;
    }
  }
  const json = (headers['content-type'] ?? '').includes('json') ? parseJson(clean) : undefined;
  if (json !== undefined) response.json = redactValue(json);
  else response.body = clean;
  return response;
}

/** Splits a plain `data:`-only event stream into its items, or undefined when it is anything else. */
function parseSse(text: string): Array<string | Record<string, unknown>> | undefined {
  const events = text.split(/\r?\n\r?\n/).filter((e) => e.trim() !== '');
  const items: Array<string | Record<string, unknown>> = [];
  for (const e of events) {
    if (!e.startsWith('data: ') || e.includes('\n')) return undefined;
    const data = e.slice(6);
    const parsed = parseJson(data);
    items.push(parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : data);
  }
  // Re-encoding must give the same bytes, or the raw body is kept instead.
  const again = items.map((i) => `data: ${typeof i === 'string' ? i : JSON.stringify(i)}\n\n`).join('');
  return again === text.replace(/\r\n/g, '\n') ? items : undefined;
}
