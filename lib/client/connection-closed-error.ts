/** The adapter's output ended while something was still waiting for it (a reply, a message). */
export class ConnectionClosedError extends Error {
  constructor(what: string) {
    super(`the adapter's output ended before ${what}`);
    this.name = 'ConnectionClosedError';
  }
}
