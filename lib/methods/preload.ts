import type { ValidatorKey } from '../generated/validator-keys';
import { validate } from '../schema-validation';

let wanted = false;
let loaded = false;
let inFlight = 0;
let methodList: readonly string[] = [];
let prepareStep: (() => void) | undefined;
let idleTimer: NodeJS.Timeout | undefined;

/**
 * How long no call must be in flight before the preload runs. A host that waits for one reply
 * before it sends a burst (initialize, then many chats) is then not made to wait for it; a few
 * turns of the event loop were not enough for that.
 */
export const PRELOAD_IDLE_MS = 200;

/**
 * Loads, once, what any call may need from disk later: each method's params validator and the
 * modules the provider loads on first use. Under a burst that uses up the file descriptors, a
 * call that had to open a module file then would fail (EMFILE) for no reason of its own. Then runs
 * `prepare`, what the provider readies for its first request (ChutesContext.prepareUpstream).
 *
 * Not at start-up, and not while a call is in flight: the first time no call has been for
 * PRELOAD_IDLE_MS. The first replies, the first chat's included, pay nothing for it.
 */
export function withPreload<T>(methods: readonly string[], call: () => Promise<T>, prepare?: () => void): Promise<T> {
  inFlight++;
  if (!loaded) {
    wanted = true;
    methodList = methods;
    prepareStep = prepare;
  }
  clearTimeout(idleTimer);
  let result: Promise<T>;
  try {
    result = call();
  } catch (err) {
    callEnded();
    throw err;
  }
  // Module-level reactions, not an async function: nothing per call stays suspended while it runs.
  return result.then(returnedAfterCall, threwAfterCall);
}

function returnedAfterCall<T>(result: T): T {
  callEnded();
  return result;
}

function threwAfterCall(err: unknown): never {
  callEnded();
  throw err;
}

function callEnded(): void {
  if (--inFlight === 0 && wanted && !loaded) {
    idleTimer = setTimeout(loadWhenIdle, PRELOAD_IDLE_MS);
    idleTimer.unref();
  }
}

function loadWhenIdle(): void {
  if (loaded || inFlight > 0) return; // Tried again when the calls in flight have ended.
  loaded = true;
  load(methodList, prepareStep);
}

function load(methods: readonly string[], prepare: (() => void) | undefined): void {
  for (const name of methods) {
    try {
      validate(`params:${name}` as ValidatorKey, {});
    } catch {
      // A method without a params schema: nothing to load.
    }
  }
  // What the upstream path loads: undici's Agent alone (in the serve bundle, one file; not all of
  // undici, which only --replay and --record use and which costs ~70 ms and ~15 MB), then the
  // config and credential store packages, then one module (of no dependencies) of the bundle that
  // TEE verification, sign-in and E2EE load (scripts/bundle-serve.js); then what the provider
  // readies for its first request.
  for (const load of [
    () => require('../chutes/http/undici-agent'),
    () => require('eventsource-parser'),
    () => require('json5'),
    () => require('proper-lockfile'),
    () => require('../chutes/tee/summary'),
    () => prepare?.(),
  ]) {
    try {
      load();
    } catch {
      // Done again (and reported) by the call that needs it.
    }
  }
}
