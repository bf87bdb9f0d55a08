/**
 * Intel DCAP quote verification, behind one function type so that the binding and measurement
 * rules can be tested with synthetic (unsigned) quotes while the real one is tested on real quotes.
 */
import type { DcapCollateral } from '../../generated/types';

export interface DcapVerdict {
  /** UpToDate, SWHardeningNeeded, OutOfDate, ... */
  status: string;
  advisoryIds: string[];
  /** The verified report's fields, when the verifier gives them (cross-checked with our own parse). */
  report?: { mrTd: Uint8Array; rtMrs: Uint8Array[]; reportData: Uint8Array; tdAttributes: Uint8Array };
}

/**
 * Verifies the quote's signature chain against the collateral at `nowSecs`; throws an Error saying
 * why it does not verify. Synchronous and offline.
 */
export type DcapVerifier = (quote: Uint8Array, collateral: DcapCollateral, nowSecs: number) => DcapVerdict;

/** @phala/dcap-qvl with Intel's SGX Root CA (pure JS, no network when given collateral). */
export const intelDcap: DcapVerifier = (quote, collateral, nowSecs) => {
  const dcap = require('@phala/dcap-qvl') as typeof import('@phala/dcap-qvl');
  const verified = dcap.verify(quote, collateral, nowSecs);
  const td = verified.report.asTd10() ?? verified.report.asTd15()?.base ?? null;
  const verdict: DcapVerdict = { status: verified.status, advisoryIds: [...verified.advisory_ids] };
  if (td) {
    verdict.report = {
      mrTd: td.mrTd,
      rtMrs: [td.rtMr0, td.rtMr1, td.rtMr2, td.rtMr3],
      reportData: td.reportData,
      tdAttributes: td.tdAttributes,
    };
  }
  return verdict;
};
