/**
 * The matcher language of conformance scenarios, kept small enough to re-implement in any host
 * language:
 * - a plain value matches an equal value; an object matches when each of its keys matches (more
 *   keys in the actual value are fine); an array matches element by element, same length;
 * - an object whose keys start with `$` is a matcher: `$type` (string, number, integer, boolean,
 *   object, array, null), `$regex` (a string matching it, or each of a list; the portable subset of
 *   regular expressions: no lookaround, no inline flags), `$any` (present, any value), `$absent`
 *   (not present), `$contains` (an array with elements matching each pattern), `$var` (equal to a
 *   captured value), `$capture` (store the value, or the regex's first group, under that name).
 */
export type Vars = Record<string, unknown>;

export interface Mismatch {
  path: string;
  message: string;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function isMatcher(p: unknown): p is Record<string, unknown> {
  return !!p && typeof p === 'object' && !Array.isArray(p) && Object.keys(p).some((k) => k.startsWith('$'));
}

const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v)?.slice(0, 200));

/** The first mismatch between `pattern` and `actual`, or undefined when they match. Captures go into `vars`. */
export function match(pattern: unknown, actual: unknown, vars: Vars, path = ''): Mismatch | undefined {
  if (isMatcher(pattern)) return matchWith(pattern, actual, vars, path);
  if (pattern === null || typeof pattern !== 'object') {
    return Object.is(pattern, actual) || pattern === actual
      ? undefined
      : { path, message: `expected ${show(pattern)}, got ${show(actual)}` };
  }
  if (Array.isArray(pattern)) {
    if (!Array.isArray(actual)) return { path, message: `expected an array, got ${show(actual)}` };
    if (actual.length !== pattern.length)
      return { path, message: `expected ${pattern.length} items, got ${actual.length}: ${show(actual)}` };
    for (let i = 0; i < pattern.length; i++) {
      const m = match(pattern[i], actual[i], vars, `${path}/${i}`);
      if (m) return m;
    }
    return undefined;
  }
  if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return { path, message: `expected an object, got ${show(actual)}` };
  for (const [k, p] of Object.entries(pattern)) {
    const m = match(p, (actual as Record<string, unknown>)[k], vars, `${path}/${k}`);
    if (m) return m;
  }
  return undefined;
}

function matchWith(p: Record<string, unknown>, actual: unknown, vars: Vars, path: string): Mismatch | undefined {
  if (p.$absent) return actual === undefined ? undefined : { path, message: `expected no value, got ${show(actual)}` };
  if (actual === undefined && !('$var' in p && vars[p.$var as string] === undefined)) {
    return { path, message: 'expected a value, got nothing' };
  }
  if (typeof p.$type === 'string') {
    const t = typeOf(actual);
    const ok = t === p.$type || (p.$type === 'number' && t === 'integer');
    if (!ok) return { path, message: `expected a ${p.$type}, got ${show(actual)}` };
  }
  let captured: unknown = actual;
  if (p.$regex !== undefined) {
    const patterns = (Array.isArray(p.$regex) ? p.$regex : [p.$regex]) as string[];
    for (const source of patterns) {
      const m = typeof actual === 'string' ? new RegExp(source).exec(actual) : null;
      if (!m) return { path, message: `expected a string matching /${source}/, got ${show(actual)}` };
      if (m.length > 1 && captured === actual) captured = m[1];
    }
  }
  if (Array.isArray(p.$contains)) {
    if (!Array.isArray(actual)) return { path, message: `expected an array, got ${show(actual)}` };
    for (const want of p.$contains) {
      if (!actual.some((a) => match(want, a, { ...vars }) === undefined)) {
        return { path, message: `expected an item matching ${show(want)} in ${show(actual)}` };
      }
    }
  }
  if (typeof p.$var === 'string' && !Object.is(vars[p.$var], actual)) {
    return { path, message: `expected ${p.$var} = ${show(vars[p.$var])}, got ${show(actual)}` };
  }
  if (typeof p.$capture === 'string') vars[p.$capture] = captured;
  return undefined;
}

/** Replaces `${name}` in the strings of a value with captured values (a whole-string reference keeps the value's type). */
export function fill<T>(value: T, vars: Vars): T {
  if (typeof value === 'string') {
    const whole = /^\$\{([A-Za-z0-9_]+)\}$/.exec(value);
    if (whole && whole[1]! in vars) return vars[whole[1]!] as T;
    return value.replace(/\$\{([A-Za-z0-9_]+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m)) as T;
  }
  if (Array.isArray(value)) return value.map((v) => fill(v, vars)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fill(v, vars);
    return out as T;
  }
  return value;
}
