// How every bench reports: each figure printed beside its target, each miss remembered, and the
// exit code saying whether all were met. Skipped figures say why and never fail the bench.
'use strict';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/**
 * Runs each arm once per round, the order rotating from round to round so that no arm always goes
 * first on a machine whose load drifts; returns each arm's results.
 */
async function interleaved(rounds, arms) {
  const names = Object.keys(arms);
  const results = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length];
      if (global.gc) global.gc();
      results[name].push(await arms[name]());
    }
  }
  return results;
}

class Targets {
  constructor() {
    this.missed = [];
  }

  /** `value` must be at most `max`. */
  atMost(label, value, max, unit = 'x', digits = 2) {
    return this.check(label, value, value <= max, `<= ${max}${unit}`, unit, digits);
  }

  /** `value` must be at least `min`. */
  atLeast(label, value, min, unit = 'x', digits = 2) {
    return this.check(label, value, value >= min, `>= ${min}${unit}`, unit, digits);
  }

  check(label, value, ok, target, unit, digits) {
    console.log(`  ${label}: ${value.toFixed(digits)}${unit} (target ${target}) ${ok ? 'OK' : 'MISSED'}`);
    if (!ok) this.missed.push(label);
    return ok;
  }

  skipped(label, reason) {
    console.log(`  ${label}: skipped: ${reason}`);
  }

  fail(label, err) {
    console.log(`  ${label}: FAILED: ${err.message ?? err}`);
    this.missed.push(label);
  }

  /** Prints the verdict and ends the process with it. */
  finish() {
    console.log(this.missed.length ? `MISSED: ${this.missed.join('; ')}` : 'all targets met');
    process.exit(this.missed.length ? 1 : 0);
  }
}

module.exports = { Targets, interleaved, median };
