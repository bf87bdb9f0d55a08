import { type Credential, CredentialResolver } from '../credentials';

/** What a call sends as its bearer under --replay when nothing is configured. The cassette answers it; it never leaves the process. */
export const REPLAY_PLACEHOLDER_TOKEN = 'cpk_replay_placeholder';

/**
 * The credentials of a replaying process: the configured one when there is one, else a placeholder,
 * so that replay needs no account. Reports (`refresh: false`, as auth.status and initialize ask) and
 * an explicit profile still get the truth.
 */
export class ReplayCredentialResolver extends CredentialResolver {
  override async resolve(opts: { profile?: string; signal?: AbortSignal; refresh?: boolean } = {}): Promise<Credential | undefined> {
    const found = await super.resolve(opts);
    if (found || opts.refresh === false || opts.profile !== undefined) return found;
    return { method: 'apiKey', token: REPLAY_PLACEHOLDER_TOKEN, source: 'env' };
  }
}
