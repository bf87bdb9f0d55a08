/**
 * Our own reading of the fields of an Intel TDX quote that the checks need, by the documented
 * layout (version 4: TD report at 48; version 5: a body descriptor at 48, the report at 54). The
 * version decides the offsets: reading v5 quotes at v4 offsets is the classic mistake.
 */

export const TEE_TYPE_TDX = 0x81;
const HEADER_LEN = 48;
const V5_DESCRIPTOR_LEN = 6;
const TD_REPORT10_LEN = 584;
const TD_REPORT15_LEN = 648;
const BODY_TD10 = 2;
const BODY_TD15 = 3;
const ATTESTATION_KEY_ECDSA_P256 = 2;

/** Offsets inside a TD report (TD1.0 and the TD1.0 part of TD1.5). */
const REL = { tdAttributes: 120, mrTd: 136, rtMr0: 328, rtMr1: 376, rtMr2: 424, rtMr3: 472, reportData: 520 } as const;

export interface TdxQuoteFields {
  version: 4 | 5;
  attestationKeyType: number;
  teeType: number;
  /** Where the TD report starts (48 for v4, 54 for v5). */
  reportOffset: number;
  /** 'td10' or 'td15' (v5 body type 3). */
  reportType: 'td10' | 'td15';
  tdAttributes: Buffer;
  mrTd: Buffer;
  rtMrs: [Buffer, Buffer, Buffer, Buffer];
  reportData: Buffer;
}

export class QuoteFormatError extends Error {
  override readonly name = 'QuoteFormatError';
}

/** Reads the fields, or throws a QuoteFormatError saying what is wrong with the bytes. */
export function parseTdxQuote(quote: Uint8Array): TdxQuoteFields {
  const q = Buffer.from(quote.buffer, quote.byteOffset, quote.byteLength);
  if (q.length < HEADER_LEN + 8) throw new QuoteFormatError(`the quote is ${q.length} bytes, too short for a TDX quote`);
  const version = q.readUInt16LE(0);
  const attestationKeyType = q.readUInt16LE(2);
  const teeType = q.readUInt32LE(4);
  if (teeType !== TEE_TYPE_TDX) {
    throw new QuoteFormatError(
      `tee_type is 0x${teeType.toString(16).padStart(8, '0')}, not TDX (0x00000081)${teeType === 0 ? ': an SGX quote' : ''}`,
    );
  }
  if (version !== 4 && version !== 5) throw new QuoteFormatError(`quote version ${version} is not supported (4 or 5)`);
  if (attestationKeyType !== ATTESTATION_KEY_ECDSA_P256) {
    throw new QuoteFormatError(`attestation key type ${attestationKeyType} is not ECDSA-256-with-P-256 (2)`);
  }
  let reportOffset = HEADER_LEN;
  let reportType: 'td10' | 'td15' = 'td10';
  let reportLen = TD_REPORT10_LEN;
  if (version === 5) {
    const bodyType = q.readUInt16LE(HEADER_LEN);
    const bodySize = q.readUInt32LE(HEADER_LEN + 2);
    if (bodyType === BODY_TD10 && bodySize === TD_REPORT10_LEN) reportType = 'td10';
    else if (bodyType === BODY_TD15 && bodySize === TD_REPORT15_LEN) reportType = 'td15';
    else throw new QuoteFormatError(`v5 body type ${bodyType} with size ${bodySize} is not a TD report (2/584 or 3/648)`);
    reportOffset = HEADER_LEN + V5_DESCRIPTOR_LEN;
    reportLen = bodySize;
  }
  // The signature data length follows the report; it must be there, even if empty.
  if (q.length < reportOffset + reportLen + 4) {
    throw new QuoteFormatError(`the quote is ${q.length} bytes, too short for a v${version} ${reportType} report`);
  }
  const at = (rel: number, len: number) => Buffer.from(q.subarray(reportOffset + rel, reportOffset + rel + len));
  return {
    version,
    attestationKeyType,
    teeType,
    reportOffset,
    reportType,
    tdAttributes: at(REL.tdAttributes, 8),
    mrTd: at(REL.mrTd, 48),
    rtMrs: [at(REL.rtMr0, 48), at(REL.rtMr1, 48), at(REL.rtMr2, 48), at(REL.rtMr3, 48)],
    reportData: at(REL.reportData, 64),
  };
}
