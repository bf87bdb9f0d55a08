import type { Credential } from '../credentials';
import type { HeaderBag } from '../http/headers';
import type { PacedSend, PaceRequest } from './pacer';

/** What a chat call asks of client-side pacing (Pacer, or pacingOff when the config turns it off). */
export interface RequestPacer {
  pace(req: PaceRequest): Promise<PacedSend | undefined>;
  sent(send: PacedSend | undefined): Promise<void>;
  observe(credential: Credential, chute: string, headers: HeaderBag): Promise<void>;
  close(): Promise<void>;
}

/**
 * Pacing turned off (requestsPerMinute "inf", or --replay): what Pacer does then, without loading it
 * and its state file's code (~1 ms of a first chat).
 */
export const pacingOff: RequestPacer = {
  pace: () => Promise.resolve(undefined),
  sent: () => Promise.resolve(),
  observe: () => Promise.resolve(),
  close: () => Promise.resolve(),
};
