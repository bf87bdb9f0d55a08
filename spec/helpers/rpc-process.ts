import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Framing } from '../../lib/server/framing/frame-decoder';
import { LspDecoder } from '../../lib/server/framing/lsp-decoder';
import { NdjsonDecoder } from '../../lib/server/framing/ndjson-decoder';
import { encodeMessage } from '../../lib/server/framing/stream-writer';
import type { ValidatorKey } from '../../lib/generated/validator-keys';
import { validate } from '../../lib/schema-validation';

export const ROOT = path.resolve(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'chutes-rpc');

export interface RpcMessage {
  jsonrpc: '2.0';
  id?: string | number | null;
  method?: string;
  params?: any;
  result?: any;
  error?: { code: number; message: string; data?: any };
}

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

/** The environment a spawned server gets: no credentials or config from the developer's machine. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^CHUTES_/.test(k)) env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** A chutes-rpc process spawned from bin/, spoken to over pipes like a host would. */
export class RpcProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly framing: Framing;
  readonly home: string;
  readonly messages: RpcMessage[] = [];
  readonly notifications: RpcMessage[] = [];
  readonly schemaProblems: string[] = [];
  stderr = '';
  stdout = Buffer.alloc(0);
  malformedOutput: string[] = [];
  private nextId = 1;
  private readonly waiters = new Map<string | number, (m: RpcMessage) => void>();
  private readonly listeners: Array<(m: RpcMessage) => void> = [];
  private readonly pendingMethods = new Map<string | number, string>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(opts: SpawnOptions = {}) {
    this.framing = opts.framing ?? 'ndjson';
    this.home = opts.home ?? tempHome();
    const args = ['serve', ...(opts.args ?? [])];
    if (!args.includes('--framing')) args.push('--framing', 'auto');
    this.child = spawn(process.execPath, [BIN, ...args], {
      env: cleanEnv({ CHUTES_RPC_HOME: this.home, ...opts.env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const check = opts.checkSchemas ?? true;
    const sink = {
      frame: (text: string) => {
        const msg = JSON.parse(text) as RpcMessage;
        this.messages.push(msg);
        if (check) this.checkSchema(msg);
        if (msg.method !== undefined) {
          this.notifications.push(msg);
        } else if (msg.id !== undefined && msg.id !== null) {
          this.waiters.get(msg.id)?.(msg);
          this.waiters.delete(msg.id);
        }
        for (const l of [...this.listeners]) l(msg);
      },
      oversize: (_p: string, size: number) => this.malformedOutput.push(`oversize ${size}`),
      malformed: (reason: string) => this.malformedOutput.push(reason),
    };
    const decoder = this.framing === 'lsp' ? new LspDecoder(sink, 1 << 30) : new NdjsonDecoder(sink, 1 << 30);
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.stdout = Buffer.concat([this.stdout, chunk]);
      decoder.push(chunk);
    });
    this.child.stdout.on('end', () => decoder.end());
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  private checkSchema(msg: RpcMessage): void {
    let key: string | undefined;
    let value: unknown;
    if (msg.method !== undefined) {
      key = `notification:${msg.method}`;
      value = msg.params;
    } else if (msg.id !== undefined && msg.id !== null && 'result' in msg) {
      const method = this.pendingMethods.get(msg.id);
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
    this.child.stdin.write(encodeMessage(msg, this.framing));
  }

  sendRaw(bytes: string | Buffer): void {
    this.child.stdin.write(bytes);
  }

  request(method: string, params?: unknown, id: string | number = this.nextId++): Promise<RpcMessage> {
    const reply = this.reply(id);
    this.pendingMethods.set(id, method);
    const msg: Record<string, unknown> = { jsonrpc: '2.0', id, method };
    if (params !== undefined) msg.params = params;
    this.send(msg);
    return reply;
  }

  /** Resolves with the reply to `id` (sent by request() or by hand). */
  reply(id: string | number, timeoutMs = 15000): Promise<RpcMessage> {
    const existing = this.messages.find((m) => m.id === id && m.method === undefined);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to id ${id} within ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      this.waiters.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  }

  notify(method: string, params?: unknown): void {
    const msg: Record<string, unknown> = { jsonrpc: '2.0', method };
    if (params !== undefined) msg.params = params;
    this.send(msg);
  }

  /** Resolves with the next message (reply or notification) matching `pred`. */
  next(pred: (m: RpcMessage) => boolean, timeoutMs = 15000): Promise<RpcMessage> {
    const found = this.messages.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; stderr: ${this.stderr}`)), timeoutMs);
      const l = (m: RpcMessage) => {
        if (!pred(m)) return;
        clearTimeout(timer);
        this.listeners.splice(this.listeners.indexOf(l), 1);
        resolve(m);
      };
      this.listeners.push(l);
    });
  }

  closeStdin(): void {
    this.child.stdin.end();
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.stdin.end();
      const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await this.exited;
      clearTimeout(t);
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
