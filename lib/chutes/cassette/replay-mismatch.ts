import type { Cassette } from '../../generated/types';

/** What the replay knows about a request that no interaction answered. */
export interface ReplayRequest {
  method: string;
  url: URL;
  body?: string;
}

const SHOWN = 5;

/**
 * Why no recorded interaction answers `req`, for a person fixing the cassette or the request: the
 * interactions recorded for the same URL and how each differs (method, query, a body field), or,
 * when there are none, the URLs the cassette does have.
 */
export function describeMismatch(cassette: Cassette, req: ReplayRequest): string {
  const recorded = cassette.interactions.map((it, i) => ({ n: i + 1, it, url: new URL(it.request.url) }));
  const sameUrl = recorded.filter((r) => r.url.origin === req.url.origin && r.url.pathname === req.url.pathname);
  if (sameUrl.length === 0) {
    const urls = [...new Set(recorded.map((r) => `${r.it.request.method ?? 'GET'} ${r.url.origin}${r.url.pathname}`))];
    if (urls.length === 0) return 'the cassette has no interactions';
    return `the cassette records nothing for ${req.url.origin}${req.url.pathname}; it has ${list(urls)}`;
  }
  const lines = sameUrl.slice(0, SHOWN).map(({ n, it, url }) => {
    const method = it.request.method ?? 'GET';
    const differences: string[] = [];
    if (method !== req.method) differences.push(`method ${method}, not ${req.method}`);
    if (url.search !== req.url.search) differences.push(`query ${url.search || '(none)'}, not ${req.url.search || '(none)'}`);
    if (it.request.body !== undefined) {
      const d = bodyDifference(it.request.body, req.body);
      if (d) differences.push(d);
    }
    const what = differences.length
      ? differences.join('; ')
      : 'matches, but it was already used (an interaction answers once unless its repeat says more)';
    return `#${n} ${method} ${url.pathname}${url.search}: ${what}`;
  });
  const more = sameUrl.length > SHOWN ? ` (and ${sameUrl.length - SHOWN} more)` : '';
  return `recorded for this URL: ${lines.join(' | ')}${more}`;
}

function list(items: string[]): string {
  return items.length <= SHOWN ? items.join(', ') : `${items.slice(0, SHOWN).join(', ')} and ${items.length - SHOWN} more`;
}

/** The first way `actual` fails to match the recorded body (a string exactly, an object as a subset), or undefined. */
function bodyDifference(expected: unknown, actual: string | undefined): string | undefined {
  if (actual === undefined) return 'it has a body, this request has none';
  if (typeof expected === 'string') return expected === actual ? undefined : 'the body differs (recorded as text, compared exactly)';
  let parsed: unknown;
  try {
    parsed = JSON.parse(actual);
  } catch {
    return 'this request body is not JSON';
  }
  return firstDifference(expected, parsed, 'body');
}

function firstDifference(expected: unknown, actual: unknown, at: string): string | undefined {
  if (expected === null || typeof expected !== 'object') {
    return expected === actual ? undefined : `${at} is ${show(expected)} there, ${show(actual)} here`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${at} is an array there, ${show(actual)} here`;
    if (expected.length !== actual.length) return `${at} has ${expected.length} items there, ${actual.length} here`;
    for (const [i, e] of expected.entries()) {
      const d = firstDifference(e, actual[i], `${at}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return `${at} is an object there, ${show(actual)} here`;
  for (const [k, v] of Object.entries(expected)) {
    const d = firstDifference(v, (actual as Record<string, unknown>)[k], `${at}.${k}`);
    if (d) return d;
  }
  return undefined;
}

function show(v: unknown): string {
  if (v === undefined) return 'missing';
  const text = JSON.stringify(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
