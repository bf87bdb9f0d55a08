import { schemaCatalog } from '../generated/catalog';
import type { InitializeResult } from '../generated/types';
import { defineMethod } from './method';

export const PROTOCOL_VERSION = '1';

export const initialize = defineMethod('initialize', async (params, { chutes, server }) => {
  if (params.logLevel) server.forwardLogs(params.logLevel);
  const config = chutes.config;
  const credential = chutes.configState.problems.length
    ? undefined
    : await chutes.credentials.resolve({ refresh: false }).catch(() => undefined);
  const result: InitializeResult = {
    protocolVersion: PROTOCOL_VERSION,
    serverInfo: { name: 'chutes-rpc', version: packageVersion() },
    capabilities: { methods: server.methodNames(), notifications: [...schemaCatalog.serverNotifications] },
    framing: server.framing() ?? 'ndjson',
    provider: { id: 'chutes', baseUrl: withoutCredentials(config.baseUrl), defaultModel: config.defaultModel, teeOnly: config.teeOnly },
    auth: { authenticated: !!credential, method: credential?.method ?? null },
  };
  if (chutes.configState.problems.length) result.configProblems = chutes.configState.problems;
  return result;
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
