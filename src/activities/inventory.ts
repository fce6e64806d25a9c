import { activityInfo, heartbeat } from '@temporalio/activity';
import type { StoreResolver } from '../clouds/profiles.js';
import type { StorageLocation } from '../spec.js';
import type { SourceInventory } from '../workflows/status.js';
import { asActivity } from './failures.js';

export interface InventoryDeps {
  stores: StoreResolver;
  /** @default 1000 */
  pageSize?: number;
}

export interface InventoryInput {
  location: StorageLocation;
}

const LARGEST_KEPT = 10;

interface Progress extends SourceInventory {
  cursor?: string;
}

export function createInventoryActivities(deps: InventoryDeps) {
  return {
    /**
     * Counts the objects and bytes under the source prefix, page by page. Heartbeats its cursor
     * with the running totals, so a retry after a worker dies resumes where the last page ended.
     */
    async inventorySource({ location }: InventoryInput): Promise<SourceInventory> {
      return asActivity(async () => {
        const store = deps.stores.store(location);
        const resumed = activityInfo().heartbeatDetails as Progress | undefined;
        const progress: Progress = resumed ?? {
          location: `${store.uri}/${location.prefix}`,
          objects: 0,
          bytes: 0,
          largest: [],
          byStorageClass: {},
        };
        do {
          const page = await store.list(location.prefix, { cursor: progress.cursor, pageSize: deps.pageSize ?? 1000 });
          for (const object of page.objects) {
            progress.objects++;
            progress.bytes += object.size;
            const tier = (progress.byStorageClass[object.storageClass ?? 'unknown'] ??= { objects: 0, bytes: 0 });
            tier.objects++;
            tier.bytes += object.size;
            const smallest = progress.largest.at(-1);
            if (progress.largest.length < LARGEST_KEPT || (smallest && object.size > smallest.size)) {
              progress.largest.push({ key: object.key, size: object.size });
              progress.largest.sort((a, b) => b.size - a.size);
              progress.largest.length = Math.min(progress.largest.length, LARGEST_KEPT);
            }
          }
          progress.cursor = page.cursor;
          heartbeat(progress);
        } while (progress.cursor);
        const { cursor: _done, ...inventory } = progress;
        return inventory;
      });
    },
  };
}
