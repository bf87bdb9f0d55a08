/**
 * node:crypto, loaded at its first use rather than with the module that uses it: loading it costs
 * 3–9 ms, which neither start-up nor a first chat that hashes and draws nothing should pay.
 */
let loaded: typeof import('node:crypto') | undefined;

export function nodeCrypto(): typeof import('node:crypto') {
  return (loaded ??= require('node:crypto') as typeof import('node:crypto'));
}
