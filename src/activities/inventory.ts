import { activityInfo, heartbeat } from '@temporalio/activity';
import { type InventoryProgress, measureThroughput, takeInventory } from '../audit/inventory.js';
import type { ThroughputMeasurement } from '../audit/report.js';
import type { StoreResolver } from '../clouds/profiles.js';
import type { StorageLocation } from '../spec.js';
import type { SourceInventory } from '../workflows/status.js';
import { asActivity } from './failures.js';

export interface InventoryDeps {
  stores: StoreResolver;
  /** @default 1000 */
  pageSize?: number;
}

export interface MeasureInput {
  location: StorageLocation;
  /** Objects to sample, largest first (the inventory's largest). */
  objects: { key: string; storageClass?: string }[];
  sampleMiB: number;
  streams: number;
}

export function createInventoryActivities(deps: InventoryDeps) {
  return {
    /**
     * Counts the objects and bytes under the source prefix, page by page. Heartbeats its cursor
     * with the running totals, so a retry after a worker dies resumes where the last page ended.
     */
    async inventorySource({ location }: { location: StorageLocation }): Promise<SourceInventory> {
      return asActivity(() =>
        takeInventory(deps.stores.store(location), location.prefix, {
          pageSize: deps.pageSize,
          resume: activityInfo().heartbeatDetails as InventoryProgress | undefined,
          onPage: (progress) => heartbeat(progress),
        }),
      );
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
  };
}
