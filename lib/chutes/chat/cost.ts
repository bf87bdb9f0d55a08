import type { Cost, ModelPricing, Usage } from '../../generated/types';

/**
 * The price of a call: uncached prompt tokens at the input price, cached ones at the cache-read
 * price (the input price when the model has none), completion tokens at the output price; prices
 * are USD per 1M tokens. Undefined when the model's prices are unknown.
 */
export function computeCost(usage: Usage, pricing: ModelPricing | undefined): Cost | undefined {
  if (!pricing || typeof pricing.input !== 'number' || typeof pricing.output !== 'number') return undefined;
  const cached = Math.min(usage.cachedTokens ?? 0, usage.promptTokens);
  const cacheRate = typeof pricing.cacheRead === 'number' ? pricing.cacheRead : pricing.input;
  const usd = ((usage.promptTokens - cached) * pricing.input + cached * cacheRate + usage.completionTokens * pricing.output) / 1e6;
  // Twelve decimals: far below a token's price, and no 0.30000000000000004 noise.
  return { usd: Math.round(usd * 1e12) / 1e12 };
}
