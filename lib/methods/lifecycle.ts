import { schemaCatalog } from '../generated/catalog';
import type { InitializeResult } from '../generated/types';
import { FEATURES } from './features';
import { defineMethod } from './method';
import { invalidParams } from './rpc-errors';

export const PROTOCOL_VERSION = '1';
/** Every protocol version this adapter speaks, oldest first. */
export const PROTOCOL_VERSIONS: readonly string[] = [PROTOCOL_VERSION];

export const initialize = defineMethod('initialize', async (params, { chutes, server }) => {
  const protocolVersion = negotiateVersion(params.protocolVersions);
  if (params.logLevel) server.forwardLogs(params.logLevel);
  const config = chutes.config;
  const credential = chutes.configState.problems.length
    ? undefined
    : await chutes.credentials.resolve({ refresh: false }).catch(() => undefined);
  const result: InitializeResult = {
    protocolVersion,
    serverInfo: { name: 'chutes-rpc', version: packageVersion() },
    capabilities: {
      methods: server.methodNames(),
      notifications: [...schemaCatalog.serverNotifications],
      features: [...FEATURES],
      protocolVersions: [...PROTOCOL_VERSIONS],
    },
    framing: server.framing() ?? 'ndjson',
    provider: { id: 'chutes', baseUrl: withoutCredentials(config.baseUrl), defaultModel: config.defaultModel, teeOnly: config.teeOnly },
    auth: { authenticated: !!credential, method: credential?.method ?? null },
  };
  if (chutes.configState.problems.length) result.configProblems = chutes.configState.problems;
  return result;
});

/**
 * The highest version both sides speak. A lone `protocolVersion` is not negotiated: MCP hosts send
 * their MCP version there, and (as MCP says) the server then answers the version it speaks.
 */
function negotiateVersion(hostVersions: string[] | undefined): InitializeResult['protocolVersion'] {
  if (!hostVersions) return PROTOCOL_VERSION;
  const common = PROTOCOL_VERSIONS.filter((v) => hostVersions.includes(v));
  if (!common.length) {
    const err = invalidParams('/protocolVersions', `no common protocol version: this server speaks ${PROTOCOL_VERSIONS.join(', ')}`);
    Object.assign(err.data as object, { type: 'unsupported_protocol_version', supportedVersions: [...PROTOCOL_VERSIONS] });
    throw err;
  }
  return common[common.length - 1] as InitializeResult['protocolVersion'];
}

export const ping = defineMethod('ping', () => ({}));

export const logSetLevel = defineMethod('log.setLevel', (params, { server }) => {
  server.forwardLogs(params.level === 'off' ? undefined : params.level);
  return null;
});

export const shutdown = defineMethod('shutdown', (_params, { server }) => {
  server.beginShutdown();
  return null;
});

let version: string | undefined;
export function packageVersion(): string {
  version ??= (require('../../package.json') as { version: string }).version;
  return version;
}

/** A URL as it may be shown: user and password (perhaps a substituted secret) left out. */
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}
