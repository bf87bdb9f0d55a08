// Chutes credentials have recognisable prefixes: API keys cpk_, access tokens cak_, refresh tokens crt_,
// client secrets csc_. Anything shaped like one is masked even when nobody registered it as a secret.
const SHAPED = /\b(cpk|cak|crt|csc)_[A-Za-z0-9._~+/=-]+/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;

const registered = new Set<string>();

/** Registers a secret value (a configured key, a token) so it is masked wherever it appears. */
export function addSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) registered.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of registered) {
    if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  return out.replace(SHAPED, '$1_[redacted]').replace(BEARER, '$1 [redacted]');
}

/** Redacts every string inside a JSON-like value. */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactValue(v);
    return out as T;
  }
  return value;
}
