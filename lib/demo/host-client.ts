import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { NdjsonDecoder } from '../server/framing/ndjson-decoder';
import { encodeMessage } from '../server/framing/stream-writer';

export interface RpcReply {
  id: number;
  result?: any;
  error?: { code: number; message: string; data?: any };
}

/**
 * The smallest useful host: spawns an adapter, sends NDJSON requests, routes replies by id and
 * notifications to a listener. What any host language does in fifty lines.
 */
export class HostClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, (r: RpcReply) => void>();
  private nextId = 1;
  onNotification: (method: string, params: any) => void = () => undefined;
  readonly exited: Promise<number | null>;
  stderr = '';

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const decoder = new NdjsonDecoder(
      {
        frame: (text) => {
          const msg = JSON.parse(text);
          if (msg.method) this.onNotification(msg.method, msg.params);
          else if (typeof msg.id === 'number') {
            this.pending.get(msg.id)?.(msg);
            this.pending.delete(msg.id);
          }
        },
        oversize: () => undefined,
        malformed: () => undefined,
      },
      1 << 30,
    );
    this.child.stdout.on('data', (c: Buffer) => decoder.push(c));
    this.child.stderr.on('data', (c: Buffer) => (this.stderr += c.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Sends a request; `id` is given to `sent` before the reply comes, so the caller can cancel it. */
  request(method: string, params: unknown, sent?: (id: number) => void): Promise<RpcReply> {
    const id = this.nextId++;
    const reply = new Promise<RpcReply>((resolve) => this.pending.set(id, resolve));
    this.child.stdin.write(encodeMessage({ jsonrpc: '2.0', id, method, params }, 'ndjson'));
    sent?.(id);
    return reply;
  }

  notify(method: string, params?: unknown): void {
    this.child.stdin.write(encodeMessage({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }) }, 'ndjson'));
  }

  cancel(id: number): void {
    this.notify('$/cancelRequest', { id });
  }
}
