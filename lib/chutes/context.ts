import type { Dispatcher } from 'undici';
import type { ConfigState, ResolvedConfig } from '../config/load';
import type { Logger } from '../log/logger';
import type { CredentialStore } from '../store/credential-store';
import type { CredentialResolver } from './credentials';
import { ChutesError } from './errors';
import type { ExhaustionMarks } from './chat/exhaustion-marks';
import type { ModelSource } from './models/model-source';
import type { RequestPacer } from './pacing/request-pacer';
import type { PendingLogin } from './oauth/login';
import type { AttestationParts, AttestationService } from './tee/attestation-service';
import type { ConnectionAhead } from './http/connection-ahead';

/**
 * Whether a hostname, as a WHATWG URL gives it, is an address: IPv6 in brackets, IPv4 (in any form)
 * as four decimal numbers. Not node:net's isIP: run on a host name before the V8 flags are set
 * (bin/v8-flags.js), it compiled node's IPv6 expression without them (~9 ms here, not ~1).
 */
function isIpLiteral(hostname: string): boolean {
  return hostname.startsWith('[') || /^[\d.]+$/.test(hostname);
}

/** Where a process keeps its state and where its upstream traffic goes. */
export interface ChutesSettings {
  home: string;
  configPath?: string;
  /** Answer every upstream call from this cassette. */
  replay?: string;
  /** Record upstream traffic to this cassette. */
  record?: string;
}

/** Parts a test (or another composition) provides instead of the ones made here. */
export interface ChutesParts {
  http?: Dispatcher;
  credentials?: CredentialResolver;
  models?: ModelSource;
  /** What the attestation service uses instead of Intel DCAP, the PCCS or random nonces. */
  attestation?: AttestationParts;
  /** The exhaustion marks (a test gives one with its own clock). */
  exhaustion?: ExhaustionMarks;
}

/**
 * Everything the provider library shares in one process: settings, the loaded config, the logger,
 * one HTTP client and the credential store, with the services built on them. Made once by the
 * composition root; each service is created on first use so that start-up stays cheap.
 */
export class ChutesContext {
  private httpClient: Dispatcher | undefined;
  private credentialResolver: CredentialResolver | undefined;
  private modelSource: ModelSource | undefined;
  private attestationService: AttestationService | undefined;
  private readonly attestationParts: AttestationParts | undefined;
  private credentialStore: CredentialStore | undefined;
  private exhaustionMarks: ExhaustionMarks | undefined;
  private requestPacer: RequestPacer | undefined;
  private closers: Array<() => Promise<void> | void> = [];
  /** Sign-ins started by auth.login and not finished yet, by login id. */
  readonly pendingLogins = new Map<string, PendingLogin>();

  constructor(
    readonly settings: ChutesSettings,
    readonly configState: ConfigState,
    readonly log: Logger,
    parts: ChutesParts = {},
  ) {
    this.httpClient = parts.http;
    this.credentialResolver = parts.credentials;
    this.modelSource = parts.models;
    this.attestationParts = parts.attestation;
    this.exhaustionMarks = parts.exhaustion;
  }

  /** The config, or the defaults when the file is invalid (for start-up and initialize). */
  get config(): ResolvedConfig {
    return this.configState.config;
  }

  /** The config for a call that needs it: config_invalid with the problems when the file is invalid. */
  requireConfig(): ResolvedConfig {
    const { problems, config } = this.configState;
    if (problems.length) {
      throw new ChutesError('config_invalid', {
        message: `The config${config.path ? ` file ${config.path}` : ''} is invalid: ${problems
          .slice(0, 3)
          .map((p) => `${p.path || '(root)'} ${p.message}`)
          .join('; ')}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`,
        errors: problems,
      });
    }
    return config;
  }

  private httpLoaded: Promise<void> | undefined;
  private networkModulesLoaded = false;
  private connectionAhead: ConnectionAhead | undefined;

  /** The one undici dispatcher every upstream call goes through (network, replay, or recording). */
  get http(): Dispatcher {
    if (!this.httpClient) {
      this.loadNetworkModules();
      const { createUpstreamDispatcher } = require('./http/upstream-dispatcher') as typeof import('./http/upstream-dispatcher');
      const made = createUpstreamDispatcher(this.settings, this.log, this.connectionAhead);
      this.httpClient = made.dispatcher;
      this.onClose(made.close);
    }
    return this.httpClient;
  }

  /**
   * Loads the HTTP stack now (undici's Agent: ~6 ms the first time), while something else waits off
   * this thread. The first time, only after one turn of the event loop: V8 begins the compile of
   * llhttp that the launcher started with this call (bin/cached-bundle.js) only in such a turn,
   * and then has it done on its own threads by the time the connection opens.
   */
  loadHttp(): Promise<void> | undefined {
    if (this.httpClient) return undefined;
    return (this.httpLoaded ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        void this.http;
        resolve();
      }),
    ));
  }

  /**
   * Opens the first connection to `url`'s host now, as the first request to it is being prepared
   * (http/connection-ahead.ts): nothing once the dispatcher exists, nor under --replay or --record.
   */
  connectAhead(url: string): void {
    if (this.httpClient || this.settings.replay || this.settings.record) return;
    if (!this.connectionAhead) {
      const { ConnectionAhead } = require('./http/connection-ahead') as typeof import('./http/connection-ahead');
      const ahead = new ConnectionAhead();
      this.onClose(() => ahead.close());
      this.connectionAhead = ahead;
    }
    this.connectionAhead.open(url);
  }

  /**
   * Loads, once, the Node modules the first connection to the upstream loads itself: node:tls for
   * https, node:dns for a host name (none under --replay or --record). A call that will reach the
   * upstream has it done before anything else (lib/methods/index.ts): V8 checks node's own code
   * cache of its modules against its flags, and loaded after the launcher set ours
   * (bin/v8-flags.js), as the first call's bundle loads, they were compiled from source
   * (node:tls +5-8 ms here).
   */
  loadNetworkModules(): void {
    if (this.networkModulesLoaded || this.settings.replay || this.settings.record) return;
    this.networkModulesLoaded = true;
    try {
      const { protocol, hostname } = new URL(this.config.baseUrl);
      if (protocol === 'https:') require('node:tls');
      if (!isIpLiteral(hostname)) require('node:dns');
    } catch {
      // Only ahead of time: the connection loads what it needs, and reports what is wrong.
    }
  }

  /**
   * Readies, while the process has nothing else to do (the preload, lib/methods/preload.ts), what
   * the first request over https would otherwise build on its way out: its Node modules, the store
   * of root certificates that every secure context shares, and node's check of its host. That first
   * request paid ~30 ms for them here (~10 ms where NODE_EXTRA_CA_CERTS is set: node then builds the
   * store at every start). Nothing under --replay, nor for an upstream reached over plain http.
   */
  prepareUpstream(): void {
    if (this.settings.replay || !this.config.baseUrl.startsWith('https:')) return;
    this.loadNetworkModules();
    (require('node:tls') as typeof import('node:tls')).createSecureContext();
    // The first connection asks node whether its host is an address, which compiles node's IPv6
    // expression (~1 ms here, under the V8 flags the preload has set by now).
    (require('node:net') as typeof import('node:net')).isIP(URL.canParse(this.config.baseUrl) ? new URL(this.config.baseUrl).hostname : '');
  }

  get store(): CredentialStore {
    if (!this.credentialStore) {
      const { CredentialStore } = require('../store/credential-store') as typeof import('../store/credential-store');
      this.credentialStore = new CredentialStore(this.settings.home, this.log);
    }
    return this.credentialStore;
  }

  get credentials(): CredentialResolver {
    if (!this.credentialResolver) {
      const { CredentialResolver } = require('./credentials') as typeof import('./credentials');
      // Replay answers every call from the cassette, so it needs no credential of the user's.
      this.credentialResolver = this.settings.replay
        ? new (require('./cassette/replay-credentials') as typeof import('./cassette/replay-credentials')).ReplayCredentialResolver(this)
        : new CredentialResolver(this);
    }
    return this.credentialResolver;
  }

  get models(): ModelSource {
    if (!this.modelSource) {
      const { ModelSource } = require('./models/model-source') as typeof import('./models/model-source');
      this.modelSource = new ModelSource(this);
    }
    return this.modelSource;
  }

  /** Models (or the account) that answered a limit with a reset time: chat calls skip them until then. */
  get exhaustion(): ExhaustionMarks {
    if (!this.exhaustionMarks) {
      const { ExhaustionMarks } = require('./chat/exhaustion-marks') as typeof import('./chat/exhaustion-marks');
      this.exhaustionMarks = new ExhaustionMarks();
    }
    return this.exhaustionMarks;
  }

  /**
   * Client-side pacing of chat requests, shared with the other processes of this home. Off under
   * --replay (nothing reaches the service) and when the config turns it off.
   */
  get pacer(): RequestPacer {
    if (!this.requestPacer) {
      const settings = this.settings.replay ? { requestsPerMinute: 0, configured: true } : this.config.rateLimit;
      if (settings.requestsPerMinute > 0) {
        const { Pacer, windowMsFrom } = require('./pacing/pacer') as typeof import('./pacing/pacer');
        const pacer = new Pacer(this.settings.home, settings, this.log, windowMsFrom(process.env));
        this.onClose(() => pacer.close());
        this.requestPacer = pacer;
      } else {
        this.requestPacer = (require('./pacing/request-pacer') as typeof import('./pacing/request-pacer')).pacingOff;
      }
    }
    return this.requestPacer;
  }

  /** TEE verification of chutes (tee.verify, the chat attestation policy, the E2EE key check). */
  get attestation(): AttestationService {
    if (!this.attestationService) {
      const { AttestationService } = require('./tee/attestation-service') as typeof import('./tee/attestation-service');
      this.attestationService = new AttestationService(this, this.attestationParts);
    }
    return this.attestationService;
  }

  /** The attestation service if something used it already (models.discover shows its results, never starts it). */
  get attestationIfStarted(): AttestationService | undefined {
    return this.attestationService;
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
