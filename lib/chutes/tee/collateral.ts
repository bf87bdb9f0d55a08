/**
 * DCAP collateral from a PCCS (or Intel's PCS), fetched through the context's dispatcher (so
 * --record and --replay see it) and cached per platform (FMSPC and CA) until its nextUpdate.
 * The library's own fetcher is not used: it calls the global fetch, outside our HTTP client.
 */
import type { DcapCollateral } from '../../generated/types';
import type { ChutesContext } from '../context';
import { ChutesError } from '../errors';
import { headerValue } from '../http/headers';
import { errorDetail } from '../http/response-errors';
import { upstreamRequest } from '../http/upstream-request';

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const INTEL_PCS_PREFIX = 'https://api.trustedservices.intel.com';

/** Collateral, or why a quote's platform has none (a finding about the quote, not a failure to check). */
export type CollateralOutcome = DcapCollateral | { unavailable: string };

/** Where a quote's collateral comes from; the service's default fetches it from the PCCS. */
export type CollateralSource = (quote: Uint8Array, signal?: AbortSignal) => Promise<CollateralOutcome>;

interface Platform {
  fmspc: string;
  ca: string;
}

class PccsMissing extends Error {}

/** The FMSPC and CA of the PCK certificate the quote carries. */
function platformOf(quote: Uint8Array): Platform {
  const dcap = require('@phala/dcap-qvl') as typeof import('@phala/dcap-qvl');
  const parsed = dcap.Quote.parse(quote);
  return { fmspc: Buffer.from(dcap.intel.getFmspc(parsed)).toString('hex').toUpperCase(), ca: dcap.intel.getCa(parsed) };
}

export class PccsCollateral {
  private readonly cache = new Map<string, { collateral: DcapCollateral; nextUpdateMs: number }>();
  private readonly inflight = new Map<string, Promise<CollateralOutcome>>();

  constructor(private readonly ctx: ChutesContext) {}

  readonly source: CollateralSource = async (quote, signal) => {
    let platform: Platform;
    try {
      platform = platformOf(quote);
    } catch (err) {
      return { unavailable: `the quote's PCK certificate cannot be read (${(err as Error).message})` };
    }
    const base = this.base();
    const key = `${base}|${platform.fmspc}|${platform.ca}`;
    const cached = this.cache.get(key);
    if (cached && Date.now() < cached.nextUpdateMs) return cached.collateral;
    let running = this.inflight.get(key);
    if (!running) {
      running = this.fetch(base, platform, signal).finally(() => this.inflight.delete(key));
      this.inflight.set(key, running);
    }
    return running;
  };

  private base(): string {
    return this.ctx.config.tee.pccsUrl.replace(/\/+$/, '').replace(/\/(sgx|tdx)\/certification\/v4$/, '');
  }

  private async fetch(base: string, p: Platform, signal: AbortSignal | undefined): Promise<CollateralOutcome> {
    try {
      const pckCrl = await this.get(`${base}/sgx/certification/v4/pckcrl?ca=${p.ca}&encoding=der`, signal);
      const tcb = await this.get(`${base}/tdx/certification/v4/tcb?fmspc=${p.fmspc}`, signal);
      const qe = await this.get(`${base}/tdx/certification/v4/qe/identity?update=standard`, signal);
      const qeChain = this.header(qe, 'sgx-enclave-identity-issuer-chain');
      const rootCaCrl = base.startsWith(INTEL_PCS_PREFIX)
        ? await this.rootCrlFromChain(qeChain, signal)
        : await this.pccsRootCrl(base, signal);
      const tcbJson = JSON.parse(tcb.body.toString('utf8')) as { tcbInfo: { nextUpdate?: string }; signature: string };
      const qeJson = JSON.parse(qe.body.toString('utf8')) as { enclaveIdentity: { nextUpdate?: string }; signature: string };
      const collateral: DcapCollateral = {
        pck_crl_issuer_chain: this.header(pckCrl, 'sgx-pck-crl-issuer-chain'),
        root_ca_crl: rootCaCrl.toString('hex'),
        pck_crl: pckCrl.body.toString('hex'),
        tcb_info_issuer_chain: headerValue(tcb.headers, 'sgx-tcb-info-issuer-chain')
          ? this.header(tcb, 'sgx-tcb-info-issuer-chain')
          : this.header(tcb, 'tcb-info-issuer-chain'),
        tcb_info: JSON.stringify(tcbJson.tcbInfo),
        tcb_info_signature: tcbJson.signature,
        qe_identity_issuer_chain: qeChain,
        qe_identity: JSON.stringify(qeJson.enclaveIdentity),
        qe_identity_signature: qeJson.signature,
      };
      const nextUpdateMs = Math.min(Date.parse(tcbJson.tcbInfo.nextUpdate ?? ''), Date.parse(qeJson.enclaveIdentity.nextUpdate ?? ''));
      if (Number.isFinite(nextUpdateMs)) this.cache.set(`${base}|${p.fmspc}|${p.ca}`, { collateral, nextUpdateMs });
      return collateral;
    } catch (err) {
      if (err instanceof PccsMissing) return { unavailable: err.message };
      if (err instanceof SyntaxError || err instanceof TypeError) {
        throw new ChutesError('server_error', {
          message: `the PCCS at ${base} gave collateral that cannot be read (${err.message})`,
          retryable: false,
        });
      }
      throw err;
    }
  }

  private header(res: { headers: Record<string, string | string[] | undefined>; url: string }, name: string): string {
    const v = headerValue(res.headers, name);
    if (!v) throw new ChutesError('server_error', { message: `${res.url}: the answer has no ${name} header`, retryable: false });
    return decodeURIComponent(v);
  }

  private async rootCrlFromChain(chain: string, signal: AbortSignal | undefined): Promise<Buffer> {
    const dcap = require('@phala/dcap-qvl') as typeof import('@phala/dcap-qvl');
    const certs = dcap.utils.extractCerts(Buffer.from(chain));
    const url = certs.length ? dcap.utils.extractCrlUrl(certs[certs.length - 1]!) : null;
    if (!url) throw new ChutesError('server_error', { message: 'the Intel root certificate names no CRL', retryable: false });
    return (await this.get(url, signal)).body;
  }

  /** A PCCS serves the root CA CRL as hex. */
  private async pccsRootCrl(base: string, signal: AbortSignal | undefined): Promise<Buffer> {
    const res = await this.get(`${base}/sgx/certification/v4/rootcacrl`, signal);
    const text = res.body.toString('utf8').trim();
    return /^([0-9a-fA-F]{2})+$/.test(text) ? Buffer.from(text, 'hex') : res.body;
  }

  private async get(url: string, signal: AbortSignal | undefined) {
    const timeoutMs = this.ctx.config.discoveryTimeoutMs;
    const res = await upstreamRequest(this.ctx, {
      method: 'GET',
      url,
      headers: {},
      ...(signal ? { signal } : {}),
      timeouts: { headersMs: timeoutMs, idleMs: timeoutMs, totalMs: timeoutMs },
    });
    if (res.status === 404) {
      throw new PccsMissing(
        `${url.replace(/\?.*$/, '')} has nothing for this platform (HTTP 404: ${errorDetail(await res.text(4096, 'truncate'))})`,
      );
    }
    if (res.status < 200 || res.status >= 300) {
      const detail = errorDetail(await res.text(4096, 'truncate'));
      throw new ChutesError(res.status === 429 ? 'rate_limited' : 'server_error', {
        message: `DCAP collateral: GET ${url.replace(/\?.*$/, '')}: HTTP ${res.status}: ${detail}`,
        httpStatus: res.status,
        resolution: 'Retry later, or point models.providers.chutes.tee.pccsUrl at another PCCS.',
      });
    }
    const parts: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          res.body.destroy();
          throw new ChutesError('server_error', { message: `GET ${url}: the answer is too large`, retryable: false });
        }
        parts.push(chunk);
      }
    } catch (err) {
      if (err instanceof ChutesError || signal?.aborted) throw err;
      throw new ChutesError('network_error', { message: `GET ${url}: ${(err as Error).message}`, cause: err });
    }
    return { url, headers: res.headers, body: Buffer.concat(parts) };
  }
}
