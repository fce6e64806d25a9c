import { readFileSync } from 'node:fs';
import { priceTableSchema, type PriceTable } from '../audit/egress.js';
import { type AuditInput, type AuditReport, buildAuditReport } from '../audit/report.js';

export const DEFAULT_PRICE_TABLE = new URL('../audit/egress-prices.json', import.meta.url);

export function loadPriceTable(path: string | URL = DEFAULT_PRICE_TABLE): PriceTable {
  const parsed = priceTableSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new Error(`Invalid egress price table ${String(path)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

export interface AuditDeps {
  /** @default the table in src/audit/egress-prices.json */
  prices?: PriceTable;
}

export function createAuditActivities(deps: AuditDeps) {
  const prices = () => deps.prices ?? loadPriceTable();
  return {
    /** Classifies the deployment and prices the move; runs on the control queue. */
    async auditReport(input: Omit<AuditInput, 'prices'>): Promise<AuditReport> {
      return buildAuditReport({ ...input, prices: prices() });
    },
  };
}
