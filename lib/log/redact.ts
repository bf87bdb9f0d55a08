// Chutes credentials have recognisable prefixes: API keys cpk_, access tokens cak_, refresh tokens crt_,
// client secrets csc_. Anything shaped like one is masked even when nobody registered it as a secret;
// `%` is part of the shape so that a URL-encoded key (cpk_abc%2B%2Fdef) is masked to its end.
const SHAPED = /\b(cpk|cak|crt|csc)_[A-Za-z0-9._~+/=%-]+/g;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
// The user name and password of a URL (https://user:pass@host/) are masked wherever a URL is shown.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/?#\s@"'<>]*@/gi;
const PREFIX = /^(cpk|cak|crt|csc)_/;
/** What any of the three patterns above needs: a text without it is left as it is, unscanned. */
const MAYBE_PATTERN = /[_@]|bearer|basic/i;

const registered = new Set<string>();

/**
 * Registers a secret value (a configured key, a token) so it is masked wherever it appears: as
 * it is, URL-encoded, in base64 and base64url, and (for a prefixed Chutes key) without its prefix.
 */
export function addSecret(value: string | undefined | null): void {
  if (!value || value.length < 6 || registered.has(value)) return;
  for (const form of encodedForms(value)) if (form.length >= 6) registered.add(form);
}

function encodedForms(value: string): string[] {
  const forms = [value, encodeURIComponent(value), encodeURIComponent(value).replace(/%20/g, '+')];
  const bytes = Buffer.from(value, 'utf8');
  forms.push(bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url'));
  const bare = value.replace(PREFIX, '');
  if (bare !== value && bare.length >= 8) forms.push(bare, encodeURIComponent(bare));
  return forms;
}

/** Masks registered secrets, credential-shaped strings, Bearer/Basic values and URL userinfo. */
export function redact(text: string): string {
  let out = text;
  for (const secret of registered) {
    if (out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  if (!MAYBE_PATTERN.test(out)) return out;
  return out.replace(SHAPED, '$1_[redacted]').replace(BEARER, '$1 [redacted]').replace(USERINFO, '$1[redacted]@');
}

/** Redacts every string inside a JSON-like value (object keys too: they may quote input). */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValue(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, redact(k), redactValue(v));
    return out as T;
  }
  return value;
}

/** redactValue for an object whose `keep` fields are passed on as they are (model output is not redacted). */
export function redactValueExcept<T>(value: T, keep: readonly string[]): T {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return redactValue(value);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) setOwn(out, k, keep.includes(k) ? v : redactValue(v));
  return out as T;
}

/** Sets a property even when its name is __proto__ (JSON.parse makes such own properties). */
function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}
