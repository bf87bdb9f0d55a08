import * as path from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Problem } from './generated/types';
import { type ValidatorKey, validatorFiles } from './generated/validator-keys';

const loaded = new Map<ValidatorKey, ValidateFunction>();

function validator(key: ValidatorKey): ValidateFunction {
  let fn = loaded.get(key);
  if (!fn) {
    const file = validatorFiles[key];
    if (!file) throw new Error(`no schema for ${key}`);
    // Standalone validators generated at build time, one module per key: no ajv compile at start-up.
    // A path, not a literal: the serve bundle (scripts/bundle-serve.js) leaves these files outside.
    fn = (require(path.join(__dirname, 'generated', 'validators', `${file}.js`)) as { validate: ValidateFunction }).validate;
    loaded.set(key, fn);
  }
  return fn;
}

/** Validates `value` against a schema key (`params:<method>`, `result:<method>`, `notification:<name>`, `config`, `cassette`). */
export function validate(key: ValidatorKey, value: unknown): Problem[] {
  const fn = validator(key);
  return fn(value) ? [] : toProblems(fn.errors ?? []);
}
function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/**
 * An anyOf whose alternatives each failed only on the value's type (`model: 42` against a string or
 * an object) is one mistake: one problem naming the types, instead of one per alternative.
 */
function typeOnlyAlternatives(errors: ErrorObject[]): Map<ErrorObject, { message: string; branches: Set<ErrorObject> }> {
  const out = new Map<ErrorObject, { message: string; branches: Set<ErrorObject> }>();
  for (const any of errors) {
    if (any.keyword !== 'anyOf') continue;
    const branches = errors.filter((e) => e !== any && e.schemaPath.startsWith(`${any.schemaPath}/`));
    if (branches.length < 2 || !branches.every((e) => e.keyword === 'type' && e.instancePath === any.instancePath)) continue;
    const types = [...new Set(branches.map((e) => String(e.params.type)))];
    out.set(any, { message: `must be ${types.slice(0, -1).join(', ')} or ${types.at(-1)}`, branches: new Set(branches) });
  }
  return out;
}

export function toProblems(errors: ErrorObject[]): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  const merged = typeOnlyAlternatives(errors);
  const mergedBranches = new Set([...merged.values()].flatMap((m) => [...m.branches]));
  for (const e of errors) {
    if (mergedBranches.has(e)) continue;
    const one = merged.get(e);
    // if/then and anyOf summaries repeat what the specific errors beside them already say.
    if (!one && (e.keyword === 'if' || (e.keyword === 'anyOf' && errors.length > 1))) continue;
    let path = e.instancePath;
    let message = e.message ?? 'is invalid';
    if (one) {
      message = one.message;
    } else if (e.keyword === 'additionalProperties') {
      path += '/' + escapePointer(String(e.params.additionalProperty));
      message = 'is not a known property';
    } else if (e.keyword === 'required') {
      path += '/' + escapePointer(String(e.params.missingProperty));
      message = 'is required';
    } else if (e.keyword === 'enum') {
      message = `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    } else if (e.keyword === 'const') {
      message = `must be ${JSON.stringify(e.params.allowedValue)}`;
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message });
  }
  return out;
}
