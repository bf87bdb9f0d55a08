import * as fs from 'node:fs';
import type { Cassette, CassetteResponse } from '../../generated/types';
import { validate } from '../../schema-validation';

export function readCassette(file: string): Cassette {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read cassette ${file}: ${(err as Error).message}`, { cause: err });
  }
  const problems = validate('cassette', value);
  if (problems.length) {
    throw new Error(`invalid cassette ${file}: ${problems.map((p) => `${p.path || '(root)'} ${p.message}`).join('; ')}`);
  }
  return value as Cassette;
}

/** The response body as sent on the wire. */
export function responseBodyText(r: CassetteResponse): string {
  if (r.sse) return r.sse.map((item) => `data: ${typeof item === 'string' ? item : JSON.stringify(item)}\n\n`).join('');
  if (r.json !== undefined) return JSON.stringify(r.json);
  return r.body ?? '';
}

/** An object request body matches when every field it names is equal in the actual JSON body. */
export function bodyMatches(expected: unknown, actual: string): boolean {
  if (typeof expected === 'string') return expected === actual;
  let parsed: unknown;
  try {
    parsed = JSON.parse(actual);
  } catch {
    return false;
  }
  return isSubset(expected, parsed);
}

function isSubset(expected: unknown, actual: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return expected === actual;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && expected.length === actual.length && expected.every((e, i) => isSubset(e, actual[i]));
  }
  if (!actual || typeof actual !== 'object') return false;
  return Object.entries(expected).every(([k, v]) => isSubset(v, (actual as Record<string, unknown>)[k]));
}
