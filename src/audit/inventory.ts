import { isCloudshiftKey } from '../migration-paths.js';
import { acceptedKeys, keyFilter, relativeTo } from '../copy/filters.js';
import type { ObjectStore } from '../clouds/object-store.js';

const LARGEST_KEPT = 10;

/** Tiers whose objects must be restored before anything can read them. */
const ARCHIVE_TIER = /^(GLACIER|DEEP_ARCHIVE|ARCHIVE|Archive)$/;

export const isArchiveTier = (storageClass: string | undefined): boolean => !!storageClass && ARCHIVE_TIER.test(storageClass);

export interface ThroughputMeasurement {
  /** Aggregate read throughput over parallel streams, MiB/s; 0 when the sample was too small to tell. */
  mibPerSecond: number;
  /** Mean latency of a metadata round trip, ms: the per-object cost for small objects. */
  perObjectMs: number;
  sampledBytes: number;
  streams: number;
}

export interface SourceInventory {
  /** The store as a URI plus the prefix inventoried. */
  location: string;
  objects: number;
  bytes: number;
  /** The biggest objects, largest first (bounded, for the report). */
  largest: { key: string; size: number; storageClass?: string }[];
  /** Object count and bytes per storage class or tier. */
  byStorageClass: Record<string, { objects: number; bytes: number }>;
}

export interface InventoryProgress extends SourceInventory {
  /** Where the next page starts; absent once the listing is done. */
  cursor?: string;
}

export interface InventoryOptions {
  /** @default 1000 */
  pageSize?: number;
  /** Progress from an earlier attempt (an activity's heartbeat details) to continue from. */
  resume?: InventoryProgress;
  /** Called after every page, e.g. to heartbeat. */
  onPage?: (progress: InventoryProgress) => void;
  /** The spec's include and exclude globs (copy/filters.ts): the inventory counts what will be copied. */
  filter?: { include: readonly string[]; exclude: readonly string[] };
}

/** Counts objects and bytes under a prefix, page by page, keeping only bounded summaries. */
export async function takeInventory(store: ObjectStore, prefix: string, options: InventoryOptions = {}): Promise<SourceInventory> {
  const progress: InventoryProgress = options.resume ?? {
    location: `${store.uri}/${prefix}`,
    objects: 0,
    bytes: 0,
    largest: [],
    byStorageClass: {},
  };
  const accept = options.filter ? keyFilter(options.filter.include, options.filter.exclude) : (key: string) => !isCloudshiftKey(key);
  do {
    const page = await store.list(prefix, { cursor: progress.cursor, pageSize: options.pageSize ?? 1000 });
    // cloudshift's own files (manifests, reports) are never workload data, nor what the filters leave out.
    for (const object of await acceptedKeys(page.objects, accept, (o) => relativeTo(prefix, o.key))) {
      progress.objects++;
      progress.bytes += object.size;
      const tier = (progress.byStorageClass[object.storageClass ?? 'unknown'] ??= { objects: 0, bytes: 0 });
      tier.objects++;
      tier.bytes += object.size;
      const smallest = progress.largest.at(-1);
      if (progress.largest.length < LARGEST_KEPT || (smallest && object.size > smallest.size)) {
        progress.largest.push({ key: object.key, size: object.size, storageClass: object.storageClass });
        progress.largest.sort((a, b) => b.size - a.size);
        progress.largest.length = Math.min(progress.largest.length, LARGEST_KEPT);
      }
    }
    progress.cursor = page.cursor;
    options.onPage?.(progress);
  } while (progress.cursor);
  const { cursor: _done, ...inventory } = progress;
  return inventory;
}

export interface MeasureOptions {
  /** Bytes read at most, over all streams. */
  sampleBytes: number;
  /** Parallel read streams. */
  streams: number;
  /** Metadata round trips timed for the per-object cost. @default 5 */
  heads?: number;
}

/**
 * Reads a sample of the given objects in parallel and times a few heads: the source side of the
 * copy throughput, measured rather than assumed.
 */
export async function measureThroughput(
  store: ObjectStore,
  objects: readonly { key: string; storageClass?: string }[],
  options: MeasureOptions,
): Promise<ThroughputMeasurement> {
  // Archived objects cannot be read until restored (and a restore would cost money).
  const keys = objects.filter((o) => !isArchiveTier(o.storageClass)).map((o) => o.key);
  if (keys.length === 0) return { mibPerSecond: 0, perObjectMs: 0, sampledBytes: 0, streams: 0 };
  const streams = Math.max(1, Math.min(options.streams, keys.length));
  const heads = Math.min(options.heads ?? 5, keys.length);
  const headStarted = performance.now();
  for (let i = 0; i < heads; i++) await store.head(keys[i]!);
  const perObjectMs = (performance.now() - headStarted) / heads;

  let budget = options.sampleBytes;
  let sampled = 0;
  let reads = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: streams }, async (_, i) => {
      for (let k = i; k < keys.length && budget > 0; k += streams) {
        const body = await store.read(keys[k]!);
        reads++;
        for await (const chunk of body as AsyncIterable<Buffer>) {
          sampled += chunk.length;
          budget -= chunk.length;
          if (budget <= 0) break;
        }
        body.destroy();
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  // Small objects spend their time on round trips, which the estimate already counts per object;
  // take those out so the byte rate is a rate of bytes. When round trips are nearly all of it,
  // the sample says nothing about bandwidth: report no byte rate rather than a made-up one.
  const roundTrips = (Math.ceil(reads / streams) * perObjectMs) / 1000;
  const transferSeconds = elapsed - roundTrips;
  const latencyBound = transferSeconds < elapsed / 10;
  return { mibPerSecond: latencyBound ? 0 : sampled / (1024 * 1024) / transferSeconds, perObjectMs, sampledBytes: sampled, streams };
}
