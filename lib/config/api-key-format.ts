import type { Problem } from '../generated/types';

/** What a Chutes API key looks like: cpk_<32 hex>.<32 hex>.<32 alphanumerics>. */
const API_KEY_SHAPE = /^cpk_[0-9a-f]{32}\.[0-9a-f]{32}\.[A-Za-z0-9]{32}$/;

/** Why `key` does not look like a Chutes API key (never quoting it), or undefined when it does. */
export function apiKeyFormatProblem(key: string): string | undefined {
  const k = key.trim();
  if (API_KEY_SHAPE.test(k)) return undefined;
  if (k.startsWith('cak_'))
    return 'is an OAuth access token (cak_...), not an API key: it expires within hours; sign in with chutes-rpc login instead';
  if (!k.startsWith('cpk_')) return 'does not look like a Chutes API key (they start with cpk_); check that the whole key was copied';
  return `does not look like a whole Chutes API key (cpk_ followed by three dot-separated parts of 32 characters, ${k.length} characters in all instead of 102); check that it was copied whole`;
}

/** Warnings (not errors: the key is the service's to judge) about the API keys a config supplies. */
export function apiKeyFormatWarnings(config: { apiKey?: string; env: Record<string, string | undefined> }): Problem[] {
  const warnings: Problem[] = [];
  const check = (path: string, what: string, key: string | undefined) => {
    const why = key?.trim() ? apiKeyFormatProblem(key) : undefined;
    if (why) warnings.push({ path, message: `${what} ${why}` });
  };
  check('/models/providers/chutes/apiKey', 'the API key', config.apiKey);
  if (!config.apiKey) check('/env/CHUTES_API_KEY', 'CHUTES_API_KEY', config.env.CHUTES_API_KEY);
  return warnings;
}
