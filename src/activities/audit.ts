/**
 * The audit's activities: the source's inventory and read throughput (on the source's queue), and
 * the report that classifies the deployment and prices the move (on the control queue).
 */
import { activityInfo, heartbeat } from '@temporalio/activity';
import { readFileSync } from 'node:fs';
import { type InventoryProgress, measureThroughput, type SourceInventory, takeInventory } from '../audit/inventory.js';
import type { StoreResolver } from '../clouds/profiles.js';
import type { MigrationSpec, StorageLocation } from '../spec.js';
import { type PreflightCheck, preflightSource } from '../audit/preflight.js';
import { NonRetryableError } from '../errors.js';
import { asActivity } from './failures.js';
import { priceTableSchema, type PriceTable } from '../audit/egress.js';
import { type AuditInput, type AuditReport, buildAuditReport, type ThroughputMeasurement } from '../audit/report.js';

export const DEFAULT_PRICE_TABLE = new URL('../audit/egress-prices.json', import.meta.url);

export function loadPriceTable(path: string | URL = DEFAULT_PRICE_TABLE): PriceTable {
  const parsed = priceTableSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new NonRetryableError('InvalidPriceTable', `Invalid egress price table ${String(path)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}; fix the table (see src/audit/egress-prices.json)`, { file: String(path) });
  }
  return parsed.data;
}

export interface AuditDeps {
  stores: StoreResolver;
  /** Objects listed per page. @default 1000 */
  pageSize?: number;
  /** @default the table in src/audit/egress-prices.json */
  prices?: PriceTable;
}

export interface MeasureInput {
  location: StorageLocation;
  /** Objects to sample, largest first (the inventory's largest). */
  objects: { key: string; storageClass?: string }[];
  sampleMiB: number;
  streams: number;
}

export function createAuditActivities(deps: AuditDeps) {
  const prices = () => deps.prices ?? loadPriceTable();
  return {
    /**
     * Counts the objects and bytes under the source prefix, page by page. Heartbeats its cursor
     * with the running totals, so a retry after a worker dies resumes where the last page ended.
     */
    async inventorySource({ location, filter }: { location: StorageLocation; filter?: { include: string[]; exclude: string[] } }): Promise<SourceInventory> {
      return asActivity(() =>
        takeInventory(deps.stores.store(location), location.prefix, {
          pageSize: deps.pageSize,
          ...(filter ? { filter } : {}),
          resume: activityInfo().heartbeatDetails as InventoryProgress | undefined,
          onPage: (progress) => heartbeat(progress),
        }),
      );
    },

    /**
     * The pre-flight's source checks (audit/preflight.ts): the source lists, the model and holdout
     * are there, the holdout's first rows parse with the spec's columns, and the model fits them.
     * Answers the checks; the workflow fails on a failed one before anything is created or copied.
     */
    async preflightSource({ spec }: { spec: MigrationSpec }): Promise<PreflightCheck[]> {
      return asActivity(() => preflightSource(spec, deps.stores));
    },

    /** Measures read throughput at the source, for the audit's copy-time estimate. */
    async measureSourceThroughput(input: MeasureInput): Promise<ThroughputMeasurement> {
      return asActivity(() =>
        measureThroughput(deps.stores.store(input.location), input.objects, {
          sampleBytes: input.sampleMiB * 1024 * 1024,
          streams: input.streams,
        }),
      );
    },

    /** Classifies the deployment and prices the move; runs on the control queue. */
    async auditReport(input: Omit<AuditInput, 'prices'>): Promise<AuditReport> {
      return asActivity(async () => buildAuditReport({ ...input, prices: prices() }));
    },
  };
}
