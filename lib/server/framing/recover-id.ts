import { parseJsonOrUndefined } from '../../util/json';

/**
 * Finds the top-level "id" of a JSON-RPC message from its first bytes, without parsing the rest
 * (used for messages too large to read). Returns undefined when the id is not in the prefix.
 */
export function recoverId(prefix: string): string | number | undefined {
  let depth = 0;
  let i = 0;
  const n = prefix.length;
  let expectKey = false;
  while (i < n) {
    const c = prefix[i];
    if (c === '"') {
      const end = stringEnd(prefix, i);
      if (end === -1) return undefined;
      if (depth === 1 && expectKey) {
        const key = parseJsonOrUndefined(prefix.slice(i, end + 1));
        let j = skipWs(prefix, end + 1);
        if (prefix[j] !== ':') return undefined;
        j = skipWs(prefix, j + 1);
        if (key === 'id') return readScalarId(prefix, j);
        i = j;
        expectKey = false;
        continue;
      }
      i = end + 1;
      continue;
    }
    if (c === '{') {
      depth++;
      expectKey = depth === 1;
    } else if (c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
    i++;
  }
  return undefined;
}

function stringEnd(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

function skipWs(s: string, i: number): number {
  while (i < s.length && /\s/.test(s[i]!)) i++;
  return i;
}

function readScalarId(s: string, i: number): string | number | undefined {
  if (s[i] === '"') {
    const end = stringEnd(s, i);
    if (end === -1) return undefined;
    const v = parseJsonOrUndefined(s.slice(i, end + 1));
    return typeof v === 'string' ? v : undefined;
  }
  const m = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(s.slice(i, i + 40));
  if (!m || i + m[0].length >= s.length) return undefined;
  return Number(m[0]);
}
