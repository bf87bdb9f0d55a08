import * as fs from 'node:fs';
import { directoryTrustProblem, readSafeFile, readSafeFileSync, type SafeRead, UnsafeFileError } from '../util/safe-file';
import type { ChutesProviderConfig, ConfigFile, ConfigModelEntry, Problem } from '../generated/types';
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
  defaultModel: string;
  headers: Record<string, string>;
  timeoutMs: number;
  discoveryTimeoutMs: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  modelEntries: ConfigModelEntry[];
  maxMessageBytes: number;
  /** The longest answer a chat call assembles, in characters. */
  maxAnswerChars: number;
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  modelsCacheTtlMs: number;
  /** The process environment overlaid with the file's env block. */
  env: Record<string, string | undefined>;
}

export interface ConfigState {
  config: ResolvedConfig;
  /** Non-empty when the file is invalid; `config` then holds the defaults. */
  problems: Problem[];
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export function defaultConfig(env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  return {
    baseUrl: D.DEFAULT_BASE_URL,
    idpBaseUrl: D.DEFAULT_IDP_BASE_URL,
    teeOnly: false,
    defaultModel: D.DEFAULT_MODEL,
    headers: {},
    timeoutMs: D.DEFAULT_TIMEOUT_MS,
    discoveryTimeoutMs: D.DEFAULT_DISCOVERY_TIMEOUT_MS,
    maxRetries: D.DEFAULT_MAX_RETRIES,
    retryBaseDelayMs: D.DEFAULT_RETRY_BASE_DELAY_MS,
    modelEntries: [],
    maxMessageBytes: D.DEFAULT_MAX_MESSAGE_BYTES,
    maxAnswerChars: D.DEFAULT_MAX_ANSWER_CHARS,
    modelsCacheTtlMs: D.DEFAULT_MODELS_CACHE_TTL_MS,
    env: { ...env },
  };
}

/** Parses JSON5 text; problems instead of exceptions. */
export function parseConfigText(text: string): { value?: unknown; problems: Problem[] } {
  let value: unknown;
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

function substitute(value: unknown, at: string, env: Record<string, string | undefined>, out: Problem[]): unknown {
  if (typeof value === 'string') {
    return value.replace(VAR, (_m, name: string) => {
      const v = env[name];
      if (v === undefined || v === '') {
        out.push({ path: at, message: `environment variable ${name} is not set (set it, or define it in env)` });
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, `${at}/${i}`, env, out));
  if (value && typeof value === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) o[k] = substitute(v, `${at}/${k}`, env, out);
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
  problems.push(...validate('config', value));
  if (problems.length) return { config: base, problems };

  const file = value as ConfigFile;
  const fileEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(file.env ?? {})) {
    if (typeof v === 'string') fileEnv[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') fileEnv[k] = String(v);
  }
  const env = { ...processEnv, ...fileEnv };
  for (const [k, v] of Object.entries(fileEnv)) if (SECRET_NAME.test(k)) addSecret(v);

  const provider = substitute(file.models?.providers?.chutes ?? {}, '/models/providers/chutes', env, problems) as ChutesProviderConfig;
  const modelSetting = substitute(file.agents?.defaults?.model, '/agents/defaults/model', env, problems) as
    string | { primary?: string } | undefined;
  const settings = file.chutesRpc ?? {};

  const config: ResolvedConfig = { ...base, env };
  if (provider.baseUrl !== undefined) config.baseUrl = checkBaseUrl(provider.baseUrl, '/models/providers/chutes/baseUrl', problems);
  if (provider.idpBaseUrl !== undefined) {
    config.idpBaseUrl = checkBaseUrl(provider.idpBaseUrl, '/models/providers/chutes/idpBaseUrl', problems);
  }
  if (provider.apiKey !== undefined && provider.apiKey !== '') {
    config.apiKey = provider.apiKey;
    addSecret(provider.apiKey);
  }
  if (provider.teeOnly !== undefined) config.teeOnly = provider.teeOnly;
  if (provider.headers) config.headers = provider.headers;
  if (provider.timeoutMs !== undefined) config.timeoutMs = provider.timeoutMs;
  if (provider.discoveryTimeoutMs !== undefined) config.discoveryTimeoutMs = provider.discoveryTimeoutMs;
  if (provider.maxRetries !== undefined) config.maxRetries = provider.maxRetries;
  if (provider.retryBaseDelayMs !== undefined) config.retryBaseDelayMs = provider.retryBaseDelayMs;
  if (provider.models) config.modelEntries = provider.models;
  const primary = typeof modelSetting === 'string' ? modelSetting : modelSetting?.primary;
  if (primary) config.defaultModel = primary;
  if (settings.maxMessageBytes !== undefined) config.maxMessageBytes = settings.maxMessageBytes;
  if (settings.maxAnswerChars !== undefined) config.maxAnswerChars = settings.maxAnswerChars;
  if (settings.logLevel !== undefined) config.logLevel = settings.logLevel;
  if (settings.modelsCacheTtlMs !== undefined) config.modelsCacheTtlMs = settings.modelsCacheTtlMs;

  return problems.length ? { config: base, problems: redactValue(problems) } : { config, problems };
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
