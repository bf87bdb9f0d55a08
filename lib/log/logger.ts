import { redact } from './redact';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export type LogSink = (level: LogLevel, message: string) => void;

/**
 * The one logger. Lines go to stderr (never stdout, which carries only protocol messages), every
 * line is redacted, and a host may also receive them as log notifications.
 */
export class Logger {
  private level: LogLevel = 'warn';
  private notifyLevel: LogLevel | undefined;
  private sink: LogSink | undefined;
  private readonly write: (line: string) => void;

  constructor(write: (line: string) => void = (line) => process.stderr.write(line)) {
    this.write = write;
  }

  setLevel(level: LogLevel): void {
    this.level = level;
  }

  getLevel(): LogLevel {
    return this.level;
  }

  /** Sends lines at `level` and above to `sink` too (the log notification). */
  forward(level: LogLevel | undefined, sink?: LogSink): void {
    this.notifyLevel = level;
    this.sink = level ? sink : undefined;
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] <= RANK[this.level] || (!!this.notifyLevel && RANK[level] <= RANK[this.notifyLevel]);
  }

  log(level: LogLevel, message: string): void {
    if (!this.enabled(level)) return;
    const text = redact(message);
    if (RANK[level] <= RANK[this.level]) this.write(`chutes-rpc ${level}: ${text}\n`);
    if (this.sink && this.notifyLevel && RANK[level] <= RANK[this.notifyLevel]) this.sink(level, text);
  }

  error(message: string): void {
    this.log('error', message);
  }
  warn(message: string): void {
    this.log('warn', message);
  }
  info(message: string): void {
    this.log('info', message);
  }
  debug(message: string): void {
    this.log('debug', message);
  }
}

export const log = new Logger();
