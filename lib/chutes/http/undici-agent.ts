import type { Agent as UndiciAgent, buildConnector as undiciBuildConnector } from 'undici';

/**
 * undici's Agent, the one part of undici the upstream path needs (requests go through its
 * `dispatch`), and the connector its clients build, to wrap (http/connection-ahead.ts). The serve
 * bundle replaces this module with dist/undici-agent.bundle.js, which holds the Agent and what it
 * uses and nothing else: the first chat after start-up then loads one file, not undici's ~110
 * modules (scripts/bundle-serve.js, bench/startup.bench.js).
 */
export const Agent: typeof UndiciAgent = (require('undici') as typeof import('undici')).Agent;
export const buildConnector: typeof undiciBuildConnector = (require('undici') as typeof import('undici')).buildConnector;
