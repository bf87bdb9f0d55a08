import type { InitializeParams, InitializeResult, ShutdownResult } from '../generated/types';
import { defineMethod } from './method';

export const PROTOCOL_VERSION = '1';

export const initialize = defineMethod<InitializeParams, InitializeResult>({
  name: 'initialize',
  async handler(params, { app, session }) {
    if (params.logLevel) session.forwardLogs(params.logLevel);
    const config = app.config;
    const credential = app.configState.problems.length ? undefined : await app.credentials().resolve({ refresh: false }).catch(() => undefined);
    const result: InitializeResult = {
      protocolVersion: PROTOCOL_VERSION,
      serverInfo: { name: 'chutes-rpc', version: packageVersion() },
      capabilities: { methods: session.methodNames(), notifications: session.notificationNames() },
      framing: session.framing() ?? 'ndjson',
      provider: { id: 'chutes', baseUrl: withoutCredentials(config.baseUrl), defaultModel: config.defaultModel, teeOnly: config.teeOnly },
      auth: { authenticated: !!credential, method: credential?.method ?? null },
    };
    if (app.configState.problems.length) result.configProblems = app.configState.problems;
    return result;
  },
});

export const shutdown = defineMethod<unknown, ShutdownResult>({
  name: 'shutdown',
  handler(_params, { session }) {
    session.beginShutdown();
    return null;
  },
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
