/**
 * The encrypted exchange broke its own rules: a tag that does not verify, a frame before
 * e2e_init, an e2e_error event, a blob too short. Never shown as text; the call fails as a network_error
 * with this reason.
 */
export class E2eeFault extends Error {
  override readonly name = 'E2eeFault';

  constructor(reason: string, options?: { cause?: unknown }) {
    super(`E2EE: ${reason}`, options);
  }
}
