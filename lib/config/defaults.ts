export const DEFAULT_BASE_URL = 'https://llm.chutes.ai/v1';
export const DEFAULT_IDP_BASE_URL = 'https://api.chutes.ai';
export const DEFAULT_MODEL = 'chutes/zai-org/GLM-4.7-Flash';
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** The longest answer a chat call assembles, in characters (content, reasoning and tool arguments). */
export const DEFAULT_MAX_ANSWER_CHARS = 64 * 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 120_000;
export const DEFAULT_DISCOVERY_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_RETRY_BASE_DELAY_MS = 500;
export const DEFAULT_MODELS_CACHE_TTL_MS = 5 * 60_000;
export const DEFAULT_OAUTH_REDIRECT_URI = 'http://127.0.0.1:1456/oauth-callback';
export const DEFAULT_OAUTH_SCOPES = 'openid profile chutes:invoke';
export const DEFAULT_API_BASE_URL = 'https://api.chutes.ai';
export const DEFAULT_PCCS_URL = 'https://api.trustedservices.intel.com';
export const DEFAULT_TEE_CACHE_TTL_MS = 5 * 60_000;
export const DEFAULT_MEASUREMENTS_TTL_MS = 60 * 60_000;
export const DEFAULT_DISCOVERY_ROUNDS = 2;
