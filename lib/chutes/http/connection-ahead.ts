import type { Socket } from 'node:net';

/**
 * How long a connection opened ahead waits to be taken before it is closed: a paced request may be
 * held longer, and a server may drop a connection that says nothing for long.
 */
export const UNTAKEN_MS = 5_000;

/**
 * How long the connector waits, at most, for the host name of a connection opened ahead to be
 * looked up before it starts TLS on it (see `take`).
 */
export const LOOKUP_WAIT_MS = 100;

/** A host name as node:net takes it: an IPv6 address without the URL's brackets. */
const unbracketed = (hostname: string): string => hostname.replace(/^\[|\]$/g, '');

/** A connection opened ahead, as `take` hands it on. */
export interface TakenConnection {
  socket: Socket;
  /** Resolves once the socket has its address (its TCP handshake is under way), failed, or LOOKUP_WAIT_MS passed. */
  addressed: Promise<void>;
}

/**
 * A TCP connection to the upstream opened as the first chat's attempt begins, before its request
 * exists: the host name's lookup and the TCP handshake then overlap what the process does before
 * it sends, instead of following it. Over https that is mostly node building its store of root
 * certificates, which `tls.connect` does before it connects (~30 ms here on a first connection):
 * undici's connector waits for the lookup (the TCP handshake starts only once this thread has seen
 * its answer), then starts TLS on the socket, so that the handshake's round trip passes while the
 * certificates are read. Only for https, where undici's connector can be handed a socket; one not
 * taken in UNTAKEN_MS is closed. Until taken it holds the process open no more than an idle
 * keep-alive socket does, and its errors are left to the connection undici makes instead, which
 * reports them.
 */
export class ConnectionAhead {
  private socket: Socket | undefined;
  private origin = '';
  private lookedUp: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /**
   * While the connection taken last waits for its lookup: the other connections wait for it too,
   * so that this thread is free to start its TCP handshake before one of them builds node's store
   * of root certificates.
   */
  waiting: Promise<void> | undefined;

  constructor(private readonly untakenMs = UNTAKEN_MS) {}

  /** Opens the connection to `url`'s host, unless one is open or it is not https. */
  open(url: string): void {
    if (this.socket || !URL.canParse(url)) return;
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:') return;
    const host = unbracketed(parsed.hostname);
    const port = Number(parsed.port || 443);
    const net = require('node:net') as typeof import('node:net');
    const socket = net.connect({ host, port });
    socket.on('error', () => undefined);
    socket.unref();
    // An address needs no lookup: its TCP handshake is under way already. Else the events that say
    // the lookup is over: an address was tried, the connection is up, or it failed.
    this.lookedUp =
      net.isIP(host) !== 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            for (const event of ['lookup', 'connectionAttempt', 'connect', 'close']) socket.once(event, () => resolve());
          });
    this.socket = socket;
    this.origin = `${host}:${port}`;
    this.timer = setTimeout(() => this.close(), this.untakenMs).unref();
  }

  /** The connection to `hostname:port`, while it is usable, once; undefined otherwise. */
  take(hostname: string, port: number): TakenConnection | undefined {
    const { socket, origin, lookedUp } = this;
    if (!socket || !lookedUp) return undefined;
    this.forget();
    if (origin !== `${unbracketed(hostname)}:${port}` || socket.destroyed) {
      socket.destroy();
      return undefined;
    }
    socket.ref();
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, LOOKUP_WAIT_MS)));
    const addressed = Promise.race([lookedUp, waited]).finally(() => {
      clearTimeout(timer);
      if (this.waiting === addressed) this.waiting = undefined;
    });
    this.waiting = addressed;
    return { socket, addressed };
  }

  /** Closes the connection if it was not taken. */
  close(): void {
    this.socket?.destroy();
    this.forget();
  }

  private forget(): void {
    clearTimeout(this.timer);
    this.socket = undefined;
    this.lookedUp = undefined;
    this.timer = undefined;
  }
}
