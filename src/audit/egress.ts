import { NonRetryableError } from '../errors.js';
import { z } from 'zod';
import { CLOUDS, type Cloud } from '../spec.js';

const tierSchema = z.strictObject({ upToGiB: z.number().positive().nullable(), perGiB: z.number().nonnegative() });
export const priceTableSchema = z.strictObject({
  asOf: z.iso.date(),
  currency: z.string().length(3),
  note: z.string(),
  providers: z.record(
    z.enum(CLOUDS),
    z.strictObject({ service: z.string(), tiers: z.array(tierSchema).min(1) }).refine(
      (p) => p.tiers.at(-1)!.upToGiB === null && p.tiers.slice(0, -1).every((t, i, all) => t.upToGiB !== null && (i === 0 || t.upToGiB > all[i - 1]!.upToGiB!)),
      { error: 'expected tiers with increasing upToGiB, the last one open (upToGiB: null)' },
    ),
  ),
});
export type PriceTable = z.output<typeof priceTableSchema>;

export interface EgressEstimate {
  provider: Cloud;
  service: string;
  gib: number;
  cost: number;
  currency: string;
  pricesAsOf: string;
  /** How the cost splits over the provider's volume tiers. */
  tiers: { gib: number; perGiB: number; cost: number }[];
}

const GiB = 1024 ** 3;

/** Egress is charged by the source provider, tier by tier over the volume moved. */
export function estimateEgress(bytes: number, source: Cloud, table: PriceTable): EgressEstimate {
  const provider = table.providers[source];
  if (!provider) throw new NonRetryableError('InvalidPriceTable', `the price table (as of ${table.asOf}) has no prices for ${source}; add them to the table`);
  const gib = bytes / GiB;
  const tiers: EgressEstimate['tiers'] = [];
  let floor = 0;
  for (const tier of provider.tiers) {
    const ceiling = tier.upToGiB ?? Infinity;
    const inTier = Math.max(0, Math.min(gib, ceiling) - floor);
    if (inTier > 0) tiers.push({ gib: inTier, perGiB: tier.perGiB, cost: inTier * tier.perGiB });
    floor = ceiling;
    if (gib <= ceiling) break;
  }
  const cost = tiers.reduce((sum, t) => sum + t.cost, 0);
  return { provider: source, service: provider.service, gib, cost, currency: table.currency, pricesAsOf: table.asOf, tiers };
}
