import type { ml_kem768 as MlKem768 } from '@noble/post-quantum/ml-kem.js' with { 'resolution-mode': 'import' };

export type MlKem = typeof MlKem768;

let loaded: MlKem | undefined;

/**
 * ML-KEM-768 (FIPS 203) from @noble/post-quantum, loaded on the first E2EE call: the package is
 * ESM only, which Node >= 20.19 requires as it is (require(esm)); the serve bundle keeps it external.
 */
export function mlKem768(): MlKem {
  loaded ??= (require('@noble/post-quantum/ml-kem.js') as { ml_kem768: MlKem }).ml_kem768;
  return loaded;
}
