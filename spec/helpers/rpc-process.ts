import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { outgoing, type RpcId, type RpcMessage } from '../../lib/client/message';
import { AdapterProcess, type AdapterExit } from '../../lib/client/spawn';
import type { Framing } from '../../lib/server/framing/frame-decoder';
import { ALWAYS, errorCodes, methodErrors } from '../../lib/generated/errors';
import type { ValidatorKey } from '../../lib/generated/validator-keys';
import { validate } from '../../lib/schema-validation';

export type { RpcMessage } from '../../lib/client/message';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'chutes-rpc');

export interface SpawnOptions {
  framing?: Framing;
  args?: string[];
  env?: Record<string, string | undefined>;
  /** A fresh temporary home unless given. */
  home?: string;
  /** Check every reply and notification against its schema (default true). */
  checkSchemas?: boolean;
}

export function tempHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-home-'));
}

/**
 * The environment a spawned server gets: no credentials or config from the developer's machine, and
 * not jest's JEST_WORKER_ID, under which undici loads its llhttp as it does in jest, not as it does
 * for a host (its module without SIMD, read at the first connection, whichever it then uses).
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^CHUTES_/.test(k) && k !== 'JEST_WORKER_ID') env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * `chutes-rpc serve` from bin/, driven through the host client, plus what tests want on top: a
 * temporary home, a clean environment, every message checked against its schema, replies as whole
 * messages (error or not), and waits that also look at what has already arrived.
 */
export class RpcProcess {
  readonly client: AdapterProcess;
  readonly home: string;
  readonly schemaProblems: string[] = [];
  readonly undeclaredErrors: string[] = [];
  private nextId = 1;
  private readonly requestMethods = new Map<RpcId, string>();

  constructor(opts: SpawnOptions = {}) {
    this.home = opts.home ?? tempHome();
    const args = ['serve', ...(opts.args ?? [])];
    if (!args.includes('--framing')) args.push('--framing', 'auto');
    this.client = new AdapterProcess({
      command: process.execPath,
      args: [BIN, ...args],
      env: cleanEnv({ CHUTES_RPC_HOME: this.home, ...opts.env }),
      framing: opts.framing ?? 'ndjson',
      record: true,
    });
    if (opts.checkSchemas ?? true) this.client.onMessage((msg) => this.checkSchema(msg));
  }

  get child(): AdapterProcess['child'] {
    return this.client.child;
  }
  get framing(): Framing {
    return this.client.framing;
  }
  get messages(): RpcMessage[] {
    return this.client.messages;
  }
  get notifications(): RpcMessage[] {
    return this.client.messages.filter((m) => m.method !== undefined);
  }
  get malformedOutput(): string[] {
    return this.client.malformed;
  }
  get stderr(): string {
    return this.client.stderr;
  }
  get stdout(): Buffer {
    return this.client.stdout;
  }
  get exited(): Promise<AdapterExit> {
    return this.client.exited;
  }

  /**
   * An error reply whose code its method does not declare (x-errors in its schema, or an error any
   * request can get): every process test of the suite checks the error table against what the
   * adapter really answers, and stop() fails the test that met one.
   */
  private checkDeclared(msg: RpcMessage): void {
    if (!msg.error || msg.id === undefined || msg.id === null) return;
    const method = this.requestMethods.get(msg.id);
    if (method === undefined || !(method in methodErrors)) return;
    const declared = [...ALWAYS, ...(methodErrors[method] ?? [])].map((n) => errorCodes[n]);
    if (!declared.includes(msg.error.code))
      this.undeclaredErrors.push(`${method} answered ${msg.error.code} (${msg.error.message}), which its schema's x-errors does not list`);
    const type = (msg.error.data as { type?: unknown } | undefined)?.type;
    if (msg.error.code <= -32001 && msg.error.code >= -32099) {
      const problems = validate('provider-error-data', msg.error.data);
      if (problems.length) this.schemaProblems.push(`error data of ${method}: ${JSON.stringify(problems)}`);
      if (type === undefined || errorCodes[type as keyof typeof errorCodes] !== msg.error.code)
        this.undeclaredErrors.push(`${method} answered ${msg.error.code} with type ${String(type)}`);
    }
  }

  private checkSchema(msg: RpcMessage): void {
    this.checkDeclared(msg);
    let key: string | undefined;
    let value: unknown;
    if (msg.method !== undefined) {
      key = `notification:${msg.method}`;
      value = msg.params;
    } else if (msg.id !== undefined && msg.id !== null && 'result' in msg) {
      const method = this.requestMethods.get(msg.id);
      if (method) key = `result:${method}`;
      value = msg.result;
    }
    if (!key) return;
    try {
      const problems = validate(key as ValidatorKey, value);
      if (problems.length) this.schemaProblems.push(`${key}: ${JSON.stringify(problems)}`);
    } catch {
      // No schema for it (e.g. an unknown method's reply).
    }
  }

  /** Writes one message in this process's framing. */
  send(msg: object): void {
    this.client.send(msg);
  }

  sendRaw(bytes: string | Buffer): void {
    this.client.sendRaw(bytes);
  }

  /** Resolves with the whole reply, error replies included (they are what most tests look at). */
  request(method: string, params?: unknown, id: RpcId = this.nextId++): Promise<RpcMessage> {
    const reply = this.reply(id);
    this.requestMethods.set(id, method);
    this.client.send(outgoing(method, params, id));
    return reply;
  }

  /** Resolves with the reply to `id` (sent by request() or by hand). */
  reply(id: RpcId, timeoutMs = 15000): Promise<RpcMessage> {
    return this.waitFor((m) => m.id === id && m.method === undefined, timeoutMs, `reply to id ${id}`);
  }

  notify(method: string, params?: unknown): void {
    this.client.notify(method, params);
  }

  /** Resolves with the first message (reply or notification) matching `pred`, received already or to come. */
  next(pred: (m: RpcMessage) => boolean, timeoutMs = 15000): Promise<RpcMessage> {
    return this.waitFor(pred, timeoutMs, 'matching message');
  }

  closeStdin(): void {
    this.client.endInput();
  }

  async stop(): Promise<void> {
    await this.client.close();
    if (this.undeclaredErrors.length) throw new Error(`the adapter broke its error contract:\n${this.undeclaredErrors.join('\n')}`);
  }

  private async waitFor(pred: (m: RpcMessage) => boolean, timeoutMs: number, what: string): Promise<RpcMessage> {
    const found = this.messages.find(pred);
    if (found) return found;
    try {
      return await this.client.nextMessage(pred, { timeoutMs });
    } catch (err) {
      throw new Error(`no ${what}: ${(err as Error).message}; stderr: ${this.stderr}`, { cause: err });
    }
  }
}

/** Spawns, runs `fn`, and always stops the process. */
export async function withServer<T>(opts: SpawnOptions, fn: (p: RpcProcess) => Promise<T>): Promise<T> {
  const p = new RpcProcess(opts);
  try {
    return await fn(p);
  } finally {
    await p.stop();
  }
}
