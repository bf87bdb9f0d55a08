import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RpcMessage } from '../client/message';
import { type AdapterProcess, spawnAdapter } from '../client/spawn';
import type { ConformanceScenario, ConformanceStep } from '../generated/types';
import { validate } from '../schema-validation';
import type { Framing } from '../server/framing/frame-decoder';
import { packageFile, selfCommand } from '../util/package-files';
import { fill, match, type Vars } from './match';

const DEFAULT_TIMEOUT_MS = 10_000;

/** The scenarios shipped with the package. */
export function scenarioDir(): string {
  return packageFile('fixtures/conformance');
}

/** A run that cannot start: a filter matching no scenario. */
export class NoScenarios extends Error {}

export interface ScenarioResult {
  name: string;
  framing: Framing;
  ok: boolean;
  reason?: string;
  ms: number;
}

export interface RunOptions {
  /** A shell command starting an adapter; {cassette}, {home} and {config} are replaced. Default: this package's own. */
  adapter?: string;
  /** Only scenarios whose name contains this text. */
  filter?: string;
  dir?: string;
  onResult?: (r: ScenarioResult) => void;
}

export function loadScenarios(dir = scenarioDir()): Array<{ file: string; scenario: ConformanceScenario }> {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      const scenario = JSON.parse(fs.readFileSync(file, 'utf8')) as ConformanceScenario;
      const problems = validate('conformance-scenario', scenario);
      if (problems.length) throw new Error(`${f}: ${problems.map((p) => `${p.path || '(root)'} ${p.message}`).join('; ')}`);
      return { file, scenario };
    });
}

export async function runConformance(opts: RunOptions = {}): Promise<{ passed: number; failed: number; results: ScenarioResult[] }> {
  const results: ScenarioResult[] = [];
  const all = loadScenarios(opts.dir);
  const chosen = all.filter(({ scenario }) => !opts.filter || scenario.name.includes(opts.filter));
  if (chosen.length === 0) {
    const names = all.map((s) => s.scenario.name);
    throw new NoScenarios(
      opts.filter
        ? `no scenario name contains "${opts.filter}"; the scenarios are: ${names.join(', ')}`
        : `no scenarios in ${opts.dir ?? scenarioDir()}`,
    );
  }
  for (const { file, scenario } of chosen) {
    for (const framing of scenario.framings ?? (['ndjson', 'lsp'] as Framing[])) {
      const r = await runOne(file, scenario, framing, opts.adapter);
      results.push(r);
      opts.onResult?.(r);
    }
  }
  const passed = results.filter((r) => r.ok).length;
  return { passed, failed: results.length - passed, results };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs one scenario in one framing against a fresh adapter process. */
export async function runOne(file: string, scenario: ConformanceScenario, framing: Framing, adapter?: string): Promise<ScenarioResult> {
  const started = Date.now();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-conformance-'));
  const config = path.join(home, 'config.json5');
  if (scenario.config) fs.writeFileSync(config, JSON.stringify(scenario.config, null, 2));
  let cassette = scenario.cassette ? path.resolve(path.dirname(file), scenario.cassette) : path.join(home, 'empty-cassette.json');
  if (!scenario.cassette) fs.writeFileSync(cassette, '{"version":1,"interactions":[]}\n');
  cassette = path.resolve(cassette);

  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CHUTES_')) env[k] = v;
  env.CHUTES_RPC_HOME = home;
  for (const [k, v] of Object.entries(scenario.env ?? {})) env[k] = v;

  const command = adapter
    ?.replace(/\{cassette\}/g, shellQuote(cassette))
    .replace(/\{home\}/g, shellQuote(home))
    .replace(/\{config\}/g, shellQuote(config));
  const self = selfCommand();
  const launch = command
    ? { command: 'sh', args: ['-c', command] }
    : { command: self.command, args: [...self.args, 'serve', '--replay', cassette, '--home', home] };
  const client = spawnAdapter({ ...launch, env, framing, record: true });
  const session = new Session(client);
  let reason: string | undefined;
  try {
    const vars: Vars = {};
    for (const [i, step] of scenario.steps.entries()) {
      const failure = await session.step(step, vars);
      if (failure) {
        reason = `step ${i + 1}: ${failure}`;
        break;
      }
    }
    if (!reason && client.malformed.length) reason = `stdout carried something that is not a message: ${client.malformed[0]}`;
    if (!reason) {
      for (const [k, v] of Object.entries(scenario.env ?? {})) {
        if (/KEY|SECRET|TOKEN/i.test(k) && v.length >= 8 && (client.stdout.includes(v) || client.stderr.includes(v))) {
          reason = `the secret in ${k} appeared in the adapter's output`;
        }
      }
    }
  } catch (err) {
    reason = (err as Error).message;
  } finally {
    await client.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
  if (reason && client.stderr.trim() && !reason.includes('stderr:'))
    reason += `\n    adapter stderr: ${client.stderr.trim().split('\n').slice(-3).join('\n    ')}`;
  const result: ScenarioResult = { name: scenario.name, framing, ok: !reason, ms: Date.now() - started };
  if (reason) result.reason = reason;
  return result;
}

function describeExit(exit: { code: number | null; signal?: NodeJS.Signals | null }): string {
  return exit.code !== null ? `with code ${exit.code}` : `on signal ${exit.signal ?? 'unknown'}`;
}

function stderrTail(stderr: string): string {
  const lines = stderr.trim().split('\n').filter(Boolean).slice(-3);
  return lines.length ? `, stderr: ${lines.join(' / ')}` : ', with nothing on stderr';
}

/** The steps of one scenario against one adapter process: an inbox of the messages received, each matched at most once. */
class Session {
  private readonly inbox: Array<{ msg: RpcMessage; used: boolean }> = [];
  private wake: (() => void) | undefined;

  constructor(private readonly client: AdapterProcess) {
    client.onMessage((msg) => {
      this.inbox.push({ msg, used: false });
      this.wake?.();
    });
    void client.exited.then(() => this.wake?.());
  }

  private async waitFor<T>(find: () => T | undefined, timeoutMs: number, what: string, untilExit = true): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      // Nothing more can come from an adapter that has exited: say so now, not after the timeout.
      const exit = this.client.exitStatus;
      if (exit && untilExit) {
        throw new Error(`the adapter exited ${describeExit(exit)}${stderrTail(this.client.stderr)} (while waiting for ${what})`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  async step(step: ConformanceStep, vars: Vars): Promise<string | undefined> {
    const timeout = step.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (step.send !== undefined) this.client.send(fill(step.send, vars));
    else if (step.sendText !== undefined) this.client.sendFrame(fill(step.sendText, vars));
    else if (step.sendBytes !== undefined) this.client.sendRaw(step.sendBytes);
    else if (step.closeInput) this.client.endInput();
    else if (step.wait !== undefined) await new Promise((r) => setTimeout(r, step.wait));
    else if (step.expect !== undefined) return this.expectOne(step.expect, vars, timeout);
    else if (step.expectUnordered !== undefined) {
      for (const p of step.expectUnordered) {
        const f = await this.expectOne(p, vars, timeout);
        if (f) return f;
      }
    } else if (step.expectStream !== undefined) return this.expectStream(step.expectStream, vars, timeout);
    else if (step.expectExit !== undefined) {
      const exit = await this.waitFor(() => this.client.exitStatus, timeout, 'the adapter to exit', false);
      if (exit.code !== step.expectExit) return `expected exit code ${step.expectExit}, got ${exit.code}`;
    }
    return undefined;
  }

  private async expectOne(pattern: unknown, vars: Vars, timeout: number): Promise<string | undefined> {
    let closest: string | undefined;
    try {
      await this.waitFor(
        () => {
          for (const entry of this.inbox) {
            if (entry.used) continue;
            const trial = { ...vars };
            const m = match(pattern, entry.msg, trial);
            if (!m) {
              entry.used = true;
              Object.assign(vars, trial);
              return true;
            }
            const p = pattern as RpcMessage;
            if ((p.id !== undefined && p.id === entry.msg.id) || (p.method !== undefined && p.method === entry.msg.method)) {
              closest = `${m.path}: ${m.message}`;
            }
          }
          return undefined;
        },
        timeout,
        `a message matching ${JSON.stringify(pattern).slice(0, 160)}`,
      );
    } catch (err) {
      const why = (err as Error).message;
      if (this.client.exitStatus) return closest ? `${why}; the nearest message differs at ${closest}` : why;
      return closest ? `no message matched; the nearest differs at ${closest}` : why;
    }
    return undefined;
  }

  private async expectStream(s: NonNullable<ConformanceStep['expectStream']>, vars: Vars, timeout: number): Promise<string | undefined> {
    const id = fill(s.id, vars);
    const streamId = s.streamId ?? String(id);
    let replyIndex = -1;
    try {
      await this.waitFor(
        () => {
          const i = this.inbox.findIndex((e) => !e.used && e.msg.method === undefined && e.msg.id === id);
          if (i >= 0) replyIndex = i;
          return i >= 0 ? true : undefined;
        },
        timeout,
        `the reply to ${JSON.stringify(id)}`,
      );
    } catch (err) {
      return (err as Error).message;
    }
    const reply = this.inbox[replyIndex]!;
    reply.used = true;
    const deltas = this.inbox.filter((e) => e.msg.method === 'chat.delta' && e.msg.params?.streamId === streamId);
    if (this.inbox.slice(replyIndex + 1).some((e) => e.msg.method === 'chat.delta' && e.msg.params?.streamId === streamId)) {
      return `a chat.delta of stream ${streamId} came after its reply`;
    }
    let content = '';
    let reasoning = '';
    const calls: Array<{ id?: string; name?: string; arguments: string }> = [];
    for (const [n, e] of deltas.entries()) {
      e.used = true;
      const p = e.msg.params as {
        seq: number;
        content?: string;
        reasoning?: string;
        toolCalls?: Array<{ index: number; id?: string; name?: string; argumentsDelta?: string }>;
      };
      if (p.seq !== n) return `stream ${streamId}: delta ${n} has seq ${p.seq} (seq must count from 0 without gaps)`;
      content += p.content ?? '';
      reasoning += p.reasoning ?? '';
      for (const tc of p.toolCalls ?? []) {
        const c = (calls[tc.index] ??= { arguments: '' });
        if (tc.id) c.id = tc.id;
        if (tc.name) c.name = tc.name;
        c.arguments += tc.argumentsDelta ?? '';
      }
    }
    if (s.minDeltas !== undefined && deltas.length < s.minDeltas)
      return `stream ${streamId}: ${deltas.length} deltas, expected at least ${s.minDeltas}`;
    const checks: Array<[string, unknown, unknown]> = [];
    if (s.content !== undefined) checks.push(['content', s.content, content]);
    if (s.reasoning !== undefined) checks.push(['reasoning', s.reasoning, reasoning]);
    if (s.toolCalls !== undefined) checks.push(['toolCalls', s.toolCalls, calls]);
    if (s.reply !== undefined) checks.push(['reply', s.reply, reply.msg]);
    for (const [what, pattern, actual] of checks) {
      const m = match(fill(pattern, vars), actual, vars);
      if (m) return `stream ${streamId} ${what}${m.path}: ${m.message}`;
    }
    return undefined;
  }
}
