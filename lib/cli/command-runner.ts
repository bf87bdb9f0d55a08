import type { ChutesContext } from '../chutes/context';
import type { Settings } from '../composition-root';
import { redact } from '../log/redact';
import { inCliWords } from './cli-words';
import { type ParsedOptions, settingsFrom, UsageError } from './settings';

/** What a command's body is given. */
export interface CommandRun {
  readonly settings: Settings;
  /**
   * Aborted by Ctrl-C (or SIGTERM) and when stdout is closed. A body that reads it must stop when it
   * aborts, and the runner waits for it; a body that never reads it is abandoned on Ctrl-C.
   */
  readonly signal: AbortSignal;
  /** The provider context from the settings, made on first use; the runner closes it on every exit path. */
  chutes(): ChutesContext;
}

/** A command's body: resolves to its exit code (0 when void), or throws what the runner reports. */
export type CommandBody = (run: CommandRun) => Promise<number | void>;

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof EXIT_CODES;

/**
 * The one way a command runs (every command but serve, whose lifecycle is lib/server's):
 * - usage errors (UsageError, or settings that cannot work): `chutes-rpc: <problem>`, exit code 2;
 * - other errors: `chutes-rpc: <message>`, then `  what to do: <resolution>` when a ChutesError or a
 *   JSON-RPC error carries one, exit code 1, redacted;
 * - Ctrl-C: aborts `signal`, `chutes-rpc: interrupted`, exit code 130 (143 for SIGTERM); a second Ctrl-C exits at once;
 * - stdout closed early (`| head`): aborts `signal`, exits quietly with 0;
 * - closes the provider context whichever way the body ends.
 */
export async function runCommand(options: ParsedOptions, body: CommandBody): Promise<void> {
  let settings: Settings;
  try {
    settings = settingsFrom(options);
  } catch (err) {
    process.exitCode = report(err);
    return;
  }
  const controller = new AbortController();
  let chutes: ChutesContext | undefined;
  let watched = false;
  let stoppedBy: StopSignal | undefined;
  let abandoned = false;
  let outputError: NodeJS.ErrnoException | undefined;

  const close = async () => {
    const c = chutes;
    chutes = undefined;
    await c?.close();
  };
  const onSignal = (signal: StopSignal) => {
    if (stoppedBy) process.exit(EXIT_CODES[signal]);
    stoppedBy = signal;
    controller.abort(new Error(signal === 'SIGINT' ? 'interrupted' : 'terminated'));
    if (watched) return;
    abandoned = true;
    void stopped(signal, close);
  };
  const onSigint = () => onSignal('SIGINT');
  const onSigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  watchStdout((err) => {
    outputError ??= err;
    controller.abort(new Error('output closed'));
  });

  const run: CommandRun = {
    settings,
    get signal() {
      watched = true;
      return controller.signal;
    },
    chutes: () => {
      if (!chutes) {
        const { createChutesContext } = require('../composition-root') as typeof import('../composition-root');
        const { log } = require('../log/logger') as typeof import('../log/logger');
        chutes = createChutesContext(settings, log);
        const { config, warnings } = chutes.configState;
        for (const w of warnings ?? []) log.warn(`config ${config.path ?? ''} ${w.path}: ${w.message}`);
      }
      return chutes;
    },
  };

  let code = 0;
  let failure: { err: unknown } | undefined;
  try {
    code = (await body(run)) ?? 0;
  } catch (err) {
    failure = { err };
  } finally {
    await close();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
  if (stoppedBy) {
    if (!abandoned) await stopped(stoppedBy);
  } else if (outputError) {
    process.exitCode = outputError.code === 'EPIPE' ? 0 : report(new Error(`cannot write the output: ${outputError.message}`));
  } else {
    process.exitCode = failure ? report(failure.err) : code;
  }
}

/** Ends a run stopped by a signal: the message, then the exit code (at once, after `close`, when the body is abandoned). */
async function stopped(signal: StopSignal, close?: () => Promise<void>): Promise<void> {
  process.stderr.write(`chutes-rpc: ${signal === 'SIGINT' ? 'interrupted' : 'terminated'}\n`);
  process.exitCode = EXIT_CODES[signal];
  if (!close) return;
  await close();
  process.exit(EXIT_CODES[signal]);
}

let stdoutWatched: ((err: NodeJS.ErrnoException) => void) | undefined;

/**
 * Routes stdout errors (EPIPE when `| head` has read enough) to `onError`. The listener stays for the
 * life of the process: an EPIPE can arrive after the body has written its last line and returned.
 */
function watchStdout(onError: (err: NodeJS.ErrnoException) => void): void {
  if (!stdoutWatched) process.stdout.on('error', (err: NodeJS.ErrnoException) => stdoutWatched?.(err));
  stdoutWatched = onError;
}

/** Prints a failure in the one format and gives its exit code. */
function report(err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`chutes-rpc: ${redact(inCliWords(err.message))}\n`);
    return 2;
  }
  const { ChutesError } = require('../chutes/errors') as typeof import('../chutes/errors');
  const { RpcError } = require('../server/rpc-error') as typeof import('../server/rpc-error');
  const data: { resolution?: unknown; attempts?: unknown } | undefined =
    err instanceof ChutesError
      ? err.data
      : err instanceof RpcError && typeof err.data === 'object' && err.data !== null
        ? err.data
        : undefined;
  const message = err instanceof Error ? err.message : String(err);
  const attempts = typeof data?.attempts === 'number' && data.attempts > 1 ? ` (after ${data.attempts} attempts)` : '';
  process.stderr.write(`chutes-rpc: ${redact(inCliWords(message))}${attempts}\n`);
  if (typeof data?.resolution === 'string') process.stderr.write(`  what to do: ${redact(inCliWords(data.resolution))}\n`);
  return 1;
}
