import type { Dispatcher } from 'undici';
import type { ResolvedConfig, ConfigState } from './config/load';
import type { CredentialResolver } from './chutes/credentials';
import type { ModelSource } from './chutes/models';
import { ProviderError } from './errors';
import type { Logger } from './log/logger';

export interface AppOptions {
  home: string;
  configPath?: string;
  replay?: string;
  record?: string;
}

/**
 * What every method and command shares in one process: options, the loaded config, the logger,
 * and the provider services, each created on first use so start-up stays cheap.
 */
export class App {
  private dispatcherInstance: Dispatcher | undefined;
  private closers: Array<() => Promise<void> | void> = [];
  private readonly services = new Map<string, unknown>();

  constructor(
    readonly options: AppOptions,
    readonly configState: ConfigState,
    readonly log: Logger,
  ) {}

  /** The config, or the defaults when the file is invalid (for start-up and initialize). */
  get config(): ResolvedConfig {
    return this.configState.config;
  }

  /** The config for a call that needs it: -32020 with the problems when the file is invalid. */
  requireConfig(): ResolvedConfig {
    const { problems, config } = this.configState;
    if (problems.length) {
      throw new ProviderError('config_invalid', {
        message: `The config${config.path ? ` file ${config.path}` : ''} is invalid: ${problems
          .slice(0, 3)
          .map((p) => `${p.path || '(root)'} ${p.message}`)
          .join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`,
        errors: problems,
      });
    }
    return config;
  }

  /** The one undici dispatcher every upstream call goes through (network, replay, or recording). */
  dispatcher(): Dispatcher {
    if (!this.dispatcherInstance) {
      const { createDispatcher } = require('./chutes/dispatcher') as typeof import('./chutes/dispatcher');
      const made = createDispatcher(this.options, this.log);
      this.dispatcherInstance = made.dispatcher;
      this.onClose(made.close);
    }
    return this.dispatcherInstance;
  }

  /** One instance per process of a provider service, made on first use. */
  service<T>(key: string, make: () => T): T {
    if (!this.services.has(key)) this.services.set(key, make());
    return this.services.get(key) as T;
  }

  credentials(): CredentialResolver {
    return this.service('credentials', () => {
      const { CredentialResolver } = require('./chutes/credentials') as typeof import('./chutes/credentials');
      return new CredentialResolver(this);
    });
  }

  models(): ModelSource {
    return this.service('models', () => {
      const { ModelSource } = require('./chutes/models') as typeof import('./chutes/models');
      return new ModelSource(this);
    });
  }

  onClose(fn: () => Promise<void> | void): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    const fns = this.closers.reverse();
    this.closers = [];
    for (const fn of fns) {
      try {
        await fn();
      } catch (err) {
        this.log.warn(`while closing: ${(err as Error).message}`);
      }
    }
  }
}
