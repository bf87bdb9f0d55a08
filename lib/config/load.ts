import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { directoryTrustProblem, readSafeFile, readSafeFileSync, type SafeRead, UnsafeFileError } from '../util/safe-file';
import type { ChutesProviderConfig, ConfigFile, ConfigModelEntry, Problem, TeeConfig } from '../generated/types';
import { addSecret, redactValue } from '../log/redact';
import { validate } from '../schema-validation';
import * as D from './defaults';

/** The config as the rest of the program uses it: every default applied, every ${VAR} replaced. */
export interface ResolvedConfig {
  path?: string;
  baseUrl: string;
  idpBaseUrl: string;
  apiKey?: string;
  teeOnly: boolean;
  e2ee: NonNullable<ChutesProviderConfig['e2ee']>;
  /** Warm a cold chute up (GET /chutes/warmup) and retry once, instead of failing with its 503. */
  warmup: boolean;
  defaultModel: string;
  /** agents.defaults.model.fallbacks: the models a chat call tries, in order, when the primary fails before anything was sent. */
  fallbacks: string[];
  headers: Record<string, string>;
  timeoutMs: number;
  discoveryTimeoutMs: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  /** Client-side pacing of chat requests (lib/chutes/pacing). */
  rateLimit: RateLimitSettings;
  modelEntries: ConfigModelEntry[];
  maxMessageBytes: number;
  /** The longest answer a chat call assembles, in characters. */
  maxAnswerChars: number;
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  modelsCacheTtlMs: number;
  /** Where /chutes, /e2e and /servers live. */
  apiBaseUrl: string;
  tee: TeeSettings;
  /** The process environment overlaid with the file's env block. */
  env: Record<string, string | undefined>;
}

/** models.providers.chutes.rateLimit with its default. */
export interface RateLimitSettings {
  /** Chat requests per credential in any window; 0 when pacing is off. */
  requestsPerMinute: number;
  /** Set in the config: a ceiling the server's X-Chutes-RL-User header can lower but not raise. */
  configured: boolean;
}

/** models.providers.chutes.tee with its defaults (docs/tee.md). */
export interface TeeSettings {
  attestation: 'off' | 'verify' | 'require';
  pccsUrl: string;
  /** Absolute path of the pinned measurements snapshot. */
  measurementsFile?: string;
  tcbStatuses: string[];
  cacheTtlMs: number;
  measurementsTtlMs: number;
  discoveryRounds: number;
}

export interface ConfigState {
  config: ResolvedConfig;
  /** Non-empty when the file is invalid; `config` then holds the defaults. */
  problems: Problem[];
  /** What was left out of a valid file: an optional field whose ${VAR} is not set. */
  warnings?: Problem[];
}

/**
 * Everything a check of the file reports (config.validate, `chutes-rpc config validate`): the
 * problems, and what loading leaves out with a warning, since the file as written is not complete.
 */
export function validationProblems(state: ConfigState): Problem[] {
  return [...state.problems, ...(state.warnings ?? [])];
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function defaultConfig(env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  return {
    baseUrl: D.DEFAULT_BASE_URL,
    idpBaseUrl: D.DEFAULT_IDP_BASE_URL,
    teeOnly: false,
    e2ee: 'off',
    warmup: true,
    defaultModel: D.DEFAULT_MODEL,
    fallbacks: [],
    headers: {},
    timeoutMs: D.DEFAULT_TIMEOUT_MS,
    discoveryTimeoutMs: D.DEFAULT_DISCOVERY_TIMEOUT_MS,
    maxRetries: D.DEFAULT_MAX_RETRIES,
    retryBaseDelayMs: D.DEFAULT_RETRY_BASE_DELAY_MS,
    rateLimit: { requestsPerMinute: D.DEFAULT_REQUESTS_PER_MINUTE, configured: false },
    modelEntries: [],
    maxMessageBytes: D.DEFAULT_MAX_MESSAGE_BYTES,
    maxAnswerChars: D.DEFAULT_MAX_ANSWER_CHARS,
    modelsCacheTtlMs: D.DEFAULT_MODELS_CACHE_TTL_MS,
    apiBaseUrl: D.DEFAULT_API_BASE_URL,
    tee: {
      attestation: 'off',
      pccsUrl: D.DEFAULT_PCCS_URL,
      tcbStatuses: ['UpToDate'],
      cacheTtlMs: D.DEFAULT_TEE_CACHE_TTL_MS,
      measurementsTtlMs: D.DEFAULT_MEASUREMENTS_TTL_MS,
      discoveryRounds: D.DEFAULT_DISCOVERY_ROUNDS,
    },
    env: { ...env },
  };
}

/**
 * Parses JSON5 text; problems instead of exceptions. Plain JSON (as `chutes-rpc config` and most
 * tools write it) means the same to JSON.parse, which reads it in microseconds: json5, loaded and
 * run only for the rest, takes ~1 ms of every start for even a small file.
 */
export function parseConfigText(text: string): { value?: unknown; problems: Problem[] } {
  let value: unknown;
  try {
    return { value: JSON.parse(text) as unknown, problems: [] };
  } catch {
    // Not plain JSON: JSON5 reads it, or says where it is wrong.
  }
  try {
    const JSON5 = require('json5') as typeof import('json5');
    value = JSON5.parse(text);
  } catch (err) {
    const e = err as { message: string; lineNumber?: number; columnNumber?: number };
    const where = e.lineNumber ? ` (line ${e.lineNumber}, column ${e.columnNumber})` : '';
    const what = e.message.replace(/^JSON5: /, '').replace(/ at \d+:\d+$/, '');
    return { problems: [{ path: '', message: `not valid JSON5: ${what}${where}` }] };
  }
  return { value, problems: [] };
}

function findForbiddenKeys(value: unknown, at: string, out: Problem[]): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => findForbiddenKeys(v, `${at}/${i}`, out));
  } else if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      const p = `${at}/${key}`;
      if (FORBIDDEN_KEYS.has(key)) out.push({ path: p, message: `the key "${key}" is not allowed` });
      else findForbiddenKeys((value as Record<string, unknown>)[key], p, out);
    }
  }
}

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A string whose ${VAR} is not set: the field it is in is left unset, or it is an error where a value is required. */
const UNSET = Symbol('unset');

/**
 * Replaces each ${VAR} in the strings of `value`. A string naming an unset variable leaves its
 * field unset with a warning (the default, a stored credential, or nothing then applies); it is a
 * problem only where a value is required: an array element, or a model entry's id.
 */
function substitute(
  value: unknown,
  at: string,
  env: Record<string, string | undefined>,
  out: { problems: Problem[]; warnings: Problem[] },
): unknown {
  const resolved = substituteValue(value, at, env, out);
  return resolved === UNSET ? undefined : resolved;
}

function substituteValue(
  value: unknown,
  at: string,
  env: Record<string, string | undefined>,
  out: { problems: Problem[]; warnings: Problem[] },
  required = false,
): unknown {
  if (typeof value === 'string') {
    const unset = new Set<string>();
    const text = value.replace(VAR, (_m, name: string) => {
      const v = env[name];
      if (v === undefined || v === '') unset.add(name);
      return v ?? '';
    });
    if (unset.size === 0) return text;
    const names = [...unset].join(', ');
    const which = unset.size === 1 ? `environment variable ${names} is` : `environment variables ${names} are`;
    if (required) out.problems.push({ path: at, message: `${which} not set (set it, or define it in env)` });
    else out.warnings.push({ path: at, message: `${which} not set, so this field is left unset` });
    return UNSET;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteValue(v, `${at}/${i}`, env, out, true));
  if (value && typeof value === 'object') {
    const o: Record<string, unknown> = {};
    const modelEntry = /\/models\/\d+$/.test(at);
    for (const [k, v] of Object.entries(value)) {
      const r = substituteValue(v, `${at}/${k}`, env, out, modelEntry && k === 'id');
      if (r !== UNSET) o[k] = r;
    }
    return o;
  }
  return value;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\]|::1)$/i;

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

function checkBaseUrl(url: string, at: string, out: Problem[]): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // The value is not echoed: it may have come from a ${VAR} holding a secret.
    out.push({ path: at, message: 'not a valid URL (give an absolute https:// URL)' });
    return url;
  }
  if (u.username !== '' || u.password !== '') {
    // Refused rather than stripped: a URL with a password would be shown (logs, errors, initialize) somewhere.
    out.push({
      path: at,
      message: 'must not contain a user name or password (user:pass@); send credentials with headers (e.g. "Authorization") instead',
    });
  } else if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) {
    out.push({ path: at, message: 'plain http: is allowed only for loopback hosts (localhost, 127.0.0.1, [::1]); use https:' });
  } else if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    out.push({ path: at, message: `unsupported URL scheme ${u.protocol}; use https:` });
  }
  return url.replace(/\/+$/, '');
}

const SECRET_NAME = /KEY|SECRET|TOKEN|PASSWORD/i;

/** Checks and resolves a parsed config value. */
export function resolveConfigValue(value: unknown, processEnv: NodeJS.ProcessEnv = process.env, path?: string): ConfigState {
  const problems: Problem[] = [];
  const base = defaultConfig(processEnv);
  if (path) base.path = path;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { config: base, problems: [{ path: '', message: 'the config must be an object' }] };
  }
  findForbiddenKeys(value, '', problems);
  if (problems.length) return { config: base, problems };
  // Not returned at once: the ${VAR} and URL problems below are reported with the schema's, all in one go.
  problems.push(...validate('config', value));

  const file = value as ConfigFile;
  const fileEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(isObject(file.env) ? file.env : {})) {
    if (typeof v === 'string') fileEnv[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') fileEnv[k] = String(v);
  }
  const env = { ...processEnv, ...fileEnv };
  for (const [k, v] of Object.entries(fileEnv)) if (SECRET_NAME.test(k)) addSecret(v);

  const found = { problems, warnings: [] as Problem[] };
  const chutesProvider: unknown = isObject(file.models) && isObject(file.models.providers) ? file.models.providers.chutes : undefined;
  const provider = (
    isObject(chutesProvider) ? substitute(chutesProvider, '/models/providers/chutes', env, found) : {}
  ) as ChutesProviderConfig;
  const agentDefaults: unknown = isObject(file.agents) ? file.agents.defaults : undefined;
  const modelSetting = (isObject(agentDefaults) ? substitute(agentDefaults.model, '/agents/defaults/model', env, found) : undefined) as
    string | { primary?: string; fallbacks?: string[] } | undefined;
  const settings = file.chutesRpc ?? {};
  const checkUrl = (url: unknown, at: string) => (typeof url === 'string' ? checkBaseUrl(url, at, problems) : undefined);
  const baseUrl = checkUrl(provider.baseUrl, '/models/providers/chutes/baseUrl');
  const idpBaseUrl = checkUrl(provider.idpBaseUrl, '/models/providers/chutes/idpBaseUrl');
  // The ${VAR} warnings too: `config validate` reports everything in one go.
  if (problems.length) {
    return found.warnings.length
      ? { config: base, problems: redactValue(problems), warnings: found.warnings }
      : { config: base, problems: redactValue(problems) };
  }

  const config: ResolvedConfig = { ...base, env };
  if (baseUrl !== undefined) config.baseUrl = baseUrl;
  if (idpBaseUrl !== undefined) config.idpBaseUrl = idpBaseUrl;
  if (provider.apiKey !== undefined && provider.apiKey !== '') {
    config.apiKey = provider.apiKey;
    addSecret(provider.apiKey);
  }
  if (provider.teeOnly !== undefined) config.teeOnly = provider.teeOnly;
  if (provider.e2ee !== undefined) config.e2ee = provider.e2ee;
  if (provider.warmup !== undefined) config.warmup = provider.warmup;
  if (provider.headers) config.headers = provider.headers;
  if (provider.timeoutMs !== undefined) config.timeoutMs = provider.timeoutMs;
  if (provider.discoveryTimeoutMs !== undefined) config.discoveryTimeoutMs = provider.discoveryTimeoutMs;
  if (provider.maxRetries !== undefined) config.maxRetries = provider.maxRetries;
  if (provider.retryBaseDelayMs !== undefined) config.retryBaseDelayMs = provider.retryBaseDelayMs;
  const rpm = provider.rateLimit?.requestsPerMinute;
  if (rpm !== undefined) config.rateLimit = { requestsPerMinute: rpm === 'inf' ? 0 : rpm, configured: true };
  if (provider.models) config.modelEntries = provider.models;
  if (provider.apiBaseUrl !== undefined) {
    config.apiBaseUrl = checkBaseUrl(provider.apiBaseUrl, '/models/providers/chutes/apiBaseUrl', problems);
  } else if (provider.baseUrl !== undefined) {
    config.apiBaseUrl = apiBaseFor(config.baseUrl);
  }
  if (provider.tee) config.tee = resolveTee(provider.tee, config.tee, path, problems);
  const primary = typeof modelSetting === 'string' ? modelSetting : modelSetting?.primary;
  if (primary) config.defaultModel = primary;
  if (typeof modelSetting === 'object' && Array.isArray(modelSetting.fallbacks)) {
    config.fallbacks = modelSetting.fallbacks.filter((m) => typeof m === 'string' && m.trim() !== '');
  }
  if (settings.maxMessageBytes !== undefined) config.maxMessageBytes = settings.maxMessageBytes;
  if (settings.maxAnswerChars !== undefined) config.maxAnswerChars = settings.maxAnswerChars;
  if (settings.logLevel !== undefined) config.logLevel = settings.logLevel;
  if (settings.modelsCacheTtlMs !== undefined) config.modelsCacheTtlMs = settings.modelsCacheTtlMs;

  return found.warnings.length ? { config, problems, warnings: found.warnings } : { config, problems };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** The API beside an inference base URL (as the E2EE transport derives it): llm.chutes.ai's is api.chutes.ai, others their origin. */
function apiBaseFor(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    return url.hostname === 'llm.chutes.ai' ? D.DEFAULT_API_BASE_URL : url.origin;
  } catch {
    return D.DEFAULT_API_BASE_URL;
  }
}

function resolveTee(tee: TeeConfig, defaults: TeeSettings, configPath: string | undefined, problems: Problem[]): TeeSettings {
  const out: TeeSettings = { ...defaults };
  if (tee.attestation !== undefined) out.attestation = tee.attestation;
  if (tee.pccsUrl !== undefined) out.pccsUrl = checkBaseUrl(tee.pccsUrl, '/models/providers/chutes/tee/pccsUrl', problems);
  if (tee.measurementsFile !== undefined) {
    out.measurementsFile = nodePath.resolve(configPath ? nodePath.dirname(configPath) : process.cwd(), tee.measurementsFile);
  }
  if (tee.tcbStatuses !== undefined) out.tcbStatuses = [...tee.tcbStatuses];
  if (tee.cacheTtlMs !== undefined) out.cacheTtlMs = tee.cacheTtlMs;
  if (tee.measurementsTtlMs !== undefined) out.measurementsTtlMs = tee.measurementsTtlMs;
  if (tee.discoveryRounds !== undefined) out.discoveryRounds = tee.discoveryRounds;
  return out;
}

export function checkConfigText(text: string, processEnv: NodeJS.ProcessEnv = process.env, path?: string): ConfigState {
  const parsed = parseConfigText(text);
  if (parsed.problems.length) {
    const base = defaultConfig(processEnv);
    if (path) base.path = path;
    return { config: base, problems: parsed.problems };
  }
  return resolveConfigValue(parsed.value, processEnv, path);
}

/** A config file larger than this is refused unread (a real one is a few KiB). */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

function unreadable(path: string, err: unknown, processEnv: NodeJS.ProcessEnv): ConfigState {
  let why: string;
  if (err instanceof UnsafeFileError) why = `${err.why}: ${err.resolution}`;
  else {
    const code = (err as NodeJS.ErrnoException).code;
    why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? 'error'})`;
  }
  const base = defaultConfig(processEnv);
  base.path = path;
  return { config: base, problems: [{ path: '', message: why }] };
}

/**
 * Checks a config file. Only a regular file of at most MAX_CONFIG_BYTES is read (a FIFO, a device
 * or a huge file is a problem, never a hang). `trusted`: the file the server or a command runs
 * with, which must also belong to this user (or root) and not be writable by others, nor sit in a
 * directory others can write to; a symbolic link must itself belong to this user (or root).
 */
export function checkConfigFile(path: string, processEnv: NodeJS.ProcessEnv = process.env, opts: { trusted?: boolean } = {}): ConfigState {
  let read: SafeRead;
  try {
    if (opts.trusted) checkTrustedLocation(path);
    read = readSafeFileSync(path, { maxBytes: MAX_CONFIG_BYTES, trusted: opts.trusted === true });
  } catch (err) {
    return unreadable(path, err, processEnv);
  }
  return checkConfigText(read.text, processEnv, path);
}

/** checkConfigFile for a path a host gave (config.validate): nothing blocks the server's thread. */
export async function checkConfigFileAsync(path: string, processEnv: NodeJS.ProcessEnv = process.env): Promise<ConfigState> {
  let read: SafeRead;
  try {
    read = await readSafeFile(path, { maxBytes: MAX_CONFIG_BYTES });
  } catch (err) {
    return unreadable(path, err, processEnv);
  }
  return checkConfigText(read.text, processEnv, path);
}

function checkTrustedLocation(path: string): void {
  const dirProblem = directoryTrustProblem(path);
  if (dirProblem) throw new UnsafeFileError(path, `is in ${dirProblem.file}, which ${dirProblem.why}`, dirProblem.resolution);
  let link: fs.Stats;
  try {
    link = fs.lstatSync(path);
  } catch {
    return; // Reported by the read.
  }
  const me = process.getuid?.();
  if (link.isSymbolicLink() && me !== undefined && link.uid !== me && link.uid !== 0) {
    throw new UnsafeFileError(path, `is a symbolic link owned by another user (uid ${link.uid})`, `Remove the link ${path}.`);
  }
}

/** Loads the config the server runs with: a file if one was found, else the defaults. */
export function loadConfig(path: string | undefined, processEnv: NodeJS.ProcessEnv = process.env): ConfigState {
  return path ? checkConfigFile(path, processEnv, { trusted: true }) : { config: defaultConfig(processEnv), problems: [] };
}
