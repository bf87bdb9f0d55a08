/**
 * The rate budget of one credential (or one credential and chute): a token bucket whose tokens come
 * back exactly one window after they were spent. It is kept as the send times of the last window
 * (including sends reserved for the future), so any window of that length holds at most `limit`
 * sends: the strict reading of "N requests a minute", which a bucket with a burst allowance
 * (N at once, then N more refilled within the same minute) would break.
 */
export interface SendWindow {
  /** Send times (epoch ms), ascending; future ones are reservations of requests waiting for their turn. */
  sent: number[];
}

/** Drops the send times that no longer count: older than one window before `now`. */
export function prune(w: SendWindow, now: number, windowMs: number): void {
  const keepFrom = w.sent.findIndex((t) => t > now - windowMs);
  if (keepFrom === -1) w.sent.length = 0;
  else if (keepFrom > 0) w.sent.splice(0, keepFrom);
}

/** The earliest time a new send fits into `w` with `limit`: in turn (after every reservation), and never a window's limit+1st. */
export function earliestSlot(w: SendWindow, limit: number, now: number, windowMs: number): number {
  let at = Math.max(now, w.sent.at(-1) ?? now);
  // The send `limit` places back must have left the window (t - windowMs, t] by then.
  if (w.sent.length >= limit) at = Math.max(at, w.sent[w.sent.length - limit]! + windowMs);
  return at;
}

/**
 * Reserves the earliest slot that fits every window given (a credential's, and its chute's when the
 * server set a limit for that chute), records it in each, and returns it. Windows must be pruned.
 */
export function reserve(windows: Array<{ window: SendWindow; limit: number }>, now: number, windowMs: number): number {
  let at = now;
  for (const { window, limit } of windows) at = Math.max(at, earliestSlot(window, limit, now, windowMs));
  for (const { window } of windows) window.sent.push(at);
  return at;
}

/** Gives a reservation back (a cancelled wait): later sends may then go earlier, never in a fuller window. */
export function release(w: SendWindow, at: number): void {
  const i = w.sent.lastIndexOf(at);
  if (i !== -1) w.sent.splice(i, 1);
}
