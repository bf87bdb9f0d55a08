import type { sha256 as Sha256 } from '@noble/hashes/sha2.js' with { 'resolution-mode': 'import' };

let loaded: typeof Sha256 | undefined;

/**
 * SHA-256 of `text` (UTF-8), in hex: @noble/hashes, inside the serve and CLI bundles with their
 * code cache, rather than node:crypto, whose loading (~6 ms here) every first paced chat paid to
 * fingerprint its credential; this is ~1.5 ms at its first use. The package is ESM only: Node
 * >= 20.19 requires it as it is where it is not bundled (require(esm)).
 */
export function sha256Hex(text: string): string {
  loaded ??= (require('@noble/hashes/sha2.js') as { sha256: typeof Sha256 }).sha256;
  return Buffer.from(loaded(Buffer.from(text, 'utf8'))).toString('hex');
}
