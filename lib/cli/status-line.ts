import type { ChatStatus } from '../generated/types';

/**
 * chat.status progress on stderr. On a terminal it is one live line, rewritten in place and
 * erased when the answer starts; piped, each status is a line of its own (a log reads well, and
 * carriage returns would garble it).
 */
export class StatusLine {
  private shown = false;

  constructor(private readonly stderr: NodeJS.WriteStream) {}

  show(status: ChatStatus): void {
    const text = `chutes-rpc: ${status.message}`;
    if (!this.stderr.isTTY) {
      this.stderr.write(`${text}\n`);
      return;
    }
    const width = Math.max(20, (this.stderr.columns || 80) - 1);
    this.stderr.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.shown = true;
  }

  /** Erases the live line, before anything else is written. */
  clear(): void {
    if (!this.shown) return;
    this.shown = false;
    this.stderr.write('\r\x1b[2K');
  }
}
