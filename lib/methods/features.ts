/**
 * The optional features of this adapter, listed in `initialize` under `capabilities.features` so a
 * host can feature-detect instead of parsing versions. Add a name when its feature ships.
 */
export const FEATURES: readonly string[] = ['ping', 'cancelNotification', 'logSetLevel', 'e2ee', 'chatStatus', 'warmup'];
