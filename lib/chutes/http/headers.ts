/** Headers as undici hands them over: names lowercased, a repeated header as an array. */
export type HeaderBag = Record<string, string | string[] | undefined>;

/** The same headers with their names lowercased (HTTP header names are case-insensitive). */
export function lowercaseHeaders(headers: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = v;
  return out;
}

/** The first value of a header, by its lowercase name. */
export function headerValue(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export interface HeaderParts {
  /** Configured headers (config.headers, a model entry's), later ones winning; never for the IdP. */
  configured?: ReadonlyArray<Readonly<Record<string, string>> | undefined>;
  /** The credential, sent as Authorization: Bearer. null: none, even when a configured header has one. */
  bearer?: string | null | undefined;
  /** This call's own headers: they win over everything else. */
  own?: Readonly<Record<string, string>>;
}

/**
 * The headers of an upstream request: configured ones, then the credential, then the call's own.
 * Names are lowercased first, so that a configured `Authorization` cannot sit beside ours.
 */
export function requestHeaders(parts: HeaderParts): Record<string, string> {
  const h: Record<string, string> = {};
  for (const layer of parts.configured ?? []) Object.assign(h, lowercaseHeaders(layer));
  if (parts.bearer) h.authorization = `Bearer ${parts.bearer}`;
  else if (parts.bearer === null) delete h.authorization;
  return Object.assign(h, lowercaseHeaders(parts.own));
}
