import type { Agent as UndiciAgent } from 'undici';

/**
 * undici's Agent, the one part of undici the upstream path needs (requests go through its
 * `dispatch`). The serve bundle replaces this module with dist/undici-agent.bundle.js, which holds
 * the Agent and what it uses and nothing else: the first chat after start-up then loads one file,
 * not undici's ~110 modules (scripts/bundle-serve.js, bench/startup.bench.js).
 */
export const Agent: typeof UndiciAgent = (require('undici') as typeof import('undici')).Agent;
