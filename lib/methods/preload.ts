import type { ValidatorKey } from '../generated/validator-keys';
import { validate } from '../schema-validation';

let scheduled = false;

/**
 * Loads, once, what any call may need from disk later: each method's params validator and the
 * packages the provider loads on first use. Under a burst that uses up the file descriptors, a
 * call that had to open a module file then would fail (EMFILE) for no reason of its own.
 */
export function preloadForCalls(methods: readonly string[]): void {
  if (scheduled) return;
  scheduled = true;
  // After the call that asked has started, not at start-up: the time to the first reply stays short.
  setImmediate(() => load(methods));
}

function load(methods: readonly string[]): void {
  for (const name of methods) {
    try {
      validate(`params:${name}` as ValidatorKey, {});
    } catch {
      // A method without a params schema: nothing to load.
    }
  }
  for (const pkg of ['undici', 'eventsource-parser', 'json5', 'proper-lockfile']) {
    try {
      require(pkg);
    } catch {
      // Loaded again (and reported) by the call that needs it.
    }
  }
}
