/**
 * What the copy, stand-up and teardown activities share about reaching objects: the store for a
 * location, the target key of a source key, what the target holds of a page, the check that a
 * target lies apart from its source, and the mapping of access errors to the location at fault.
 */
import { ApplicationFailure } from '@temporalio/common';
import { StoreError } from '../clouds/errors.js';
import { type ObjectInfo, type ObjectStore, SOURCE_VERSION_METADATA_KEY } from '../clouds/object-store.js';
import type { StoreResolver } from '../clouds/profiles.js';
import { identityOverlap } from '../clouds/store-identity.js';
import { ChecksumRecords } from '../copy/checksum-records.js';
import { acceptedKeys, keyFilter, relativeTo } from '../copy/filters.js';
import { describeLocation, keyIn, locationOverlap, type StorageLocation } from '../spec.js';

export interface Filters {
  include: string[];
  exclude: string[];
}

/** A location's store; with a part size, for writes of multipart uploads. */
export const storeOf = (stores: StoreResolver, location: StorageLocation, partSizeMiB?: number): ObjectStore =>
  stores.store(location, partSizeMiB ? { partSizeBytes: partSizeMiB * MiB } : undefined);

/** Keys a result names at most, for the report. */
export const MAX_REPORTED_KEYS = 20;
export const MiB = 1024 * 1024;

export const versionOf = (o: { version?: string; checksums: { etag?: string }; size: number; lastModified?: string }): string =>
  o.version ?? o.checksums.etag ?? `${o.size}-${o.lastModified ?? ''}`;

/**
 * Runs `work` over items with at most `limit` at once; stops starting new ones after a failure,
 * and settles only once the work in flight has: a cancelled copy whose other writes were still
 * going on reported itself stopped, and the clean-up that followed listed before four of them
 * landed (they stayed behind while the record said everything was removed).
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const settled = await Promise.allSettled(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
      while (!failed && next < items.length) {
        const index = next++;
        try {
          await work(items[index]!, index);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    }),
  );
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
}

export function targetKeyOf(source: StorageLocation, target: StorageLocation, key: string): string {
  return keyIn(target, relativeTo(source.prefix, key)).replace(/^\//, '');
}

/**
 * Every activity that writes to or deletes from a target checks first that it lies apart from the
 * source, as the worker resolves both (StoreResolver.identity: resolved hosts, the Azure account,
 * the real directory). The spec refuses locations that overlap by name; this catches two names
 * for one store. Run before every write and every delete, never cached: a symlink can be changed
 * between two pages.
 */
export async function assertApart(source: StorageLocation, target: StorageLocation, operation: string, stores?: StoreResolver): Promise<void> {
  const overlap = locationOverlap(source, target) ?? (stores ? await resolvedOverlap(stores, source, target) : undefined);
  if (overlap) {
    throw ApplicationFailure.nonRetryable(
      `refused to ${operation}: the target ${describeLocation(target)} ${overlap} ${describeLocation(source)}, so it could write into or delete source data. Nothing was touched; give the migration a target apart from its source.`,
      'InvalidLocations',
    );
  }
}

const OVERLAP_WORDS = {
  same: 'is, as this worker reaches them, the same place as the source',
  inside: 'lies, as this worker reaches them, inside the source',
  holds: 'holds, as this worker reaches them, the source',
} as const;

async function resolvedOverlap(stores: StoreResolver, source: StorageLocation, target: StorageLocation): Promise<string | undefined> {
  const [a, b] = await Promise.all([stores.identity(source), stores.identity(target)]);
  const overlap = identityOverlap(a, b);
  return overlap && OVERLAP_WORDS[overlap];
}

/** Says which profile and bucket an access problem is about, so the operator knows where to look. */
export function withLocation<T>(location: StorageLocation, work: () => Promise<T>): () => Promise<T> {
  return async () => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof StoreError && error.kind === 'AccessDenied') {
        throw ApplicationFailure.nonRetryable(`${error.message} (profile "${location.profile}", bucket "${location.bucket}")`, 'AccessDenied');
      }
      throw error;
    }
  };
}

export const isNotFound = (error: unknown) => error instanceof StoreError && error.kind === 'NotFound';

/** For `.catch`: a missing object becomes undefined, anything else still throws. */
export function undefinedIfNotFound(error: unknown): undefined {
  if (isNotFound(error)) return undefined;
  throw error;
}

export const headIfExists = (store: ObjectStore, key: string): Promise<ObjectInfo | undefined> => store.head(key).catch(undefinedIfNotFound);

/**
 * What the target holds at `key`: absent if the listing of the range lacks it, the listing's entry
 * where it carries cloudshift's metadata (GCS, Azure), a head otherwise (S3, filesystem); with the
 * SHA-256 from the checksum record where the object could not carry it.
 */
export async function storedAt(target: ObjectStore, records: ChecksumRecords, listing: Map<string, ObjectInfo> | undefined, key: string): Promise<ObjectInfo | undefined> {
  const listed = listing?.get(key);
  if (listing && !listed) return undefined;
  const info = listed?.metadata?.[SOURCE_VERSION_METADATA_KEY] ? listed : await headIfExists(target, key);
  return info && records.resolve(info);
}

export const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

function commonPrefix(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

/**
 * What the target holds of these keys, from a listing of their common prefix: a request per
 * thousand keys instead of a head per key (GCS and Azure listings even carry the metadata).
 * Undefined when that prefix holds too much else to list cheaply.
 */
export async function listedTargets(target: ObjectStore, keys: readonly string[], maxPages = 4): Promise<Map<string, ObjectInfo> | undefined> {
  if (keys.length === 0) return new Map();
  const sorted = [...keys].sort(byteOrder);
  const last = sorted.at(-1)!;
  const prefix = commonPrefix(sorted[0]!, last);
  const found = new Map<string, ObjectInfo>();
  let cursor: string | undefined;
  for (let pages = 0; pages < maxPages; pages++) {
    const page = await target.list(prefix, { cursor, pageSize: 1000 });
    for (const o of page.objects) found.set(o.key, o);
    const lastListed = page.objects.at(-1)?.key;
    if (!page.cursor || (lastListed !== undefined && byteOrder(lastListed, last) >= 0)) return found;
    cursor = page.cursor;
  }
  return undefined;
}

/** One page of the source that the filters accept, and what the target holds of it. */
export async function sourcePageWithTargets(
  stores: StoreResolver,
  input: Filters & { migration: string; source: StorageLocation; target: StorageLocation; cursor?: string; pageSize: number },
) {
  const { source, target, objects, cursor } = await acceptedSourcePage(stores, input);
  const records = new ChecksumRecords(target, input.target, input.migration);
  const listed = await listedTargets(target, objects.map((o) => targetKeyOf(input.source, input.target, o.key)));
  return { source, target, records, objects, listed, cursor };
}

/** One page of the source, only what the filters accept, with both stores. */
export async function acceptedSourcePage(stores: StoreResolver, input: Filters & { source: StorageLocation; target: StorageLocation; cursor?: string; pageSize: number }) {
  const source = storeOf(stores, input.source);
  const target = storeOf(stores, input.target);
  const accept = keyFilter(input.include, input.exclude);
  const page = await source.list(input.source.prefix, { cursor: input.cursor, pageSize: input.pageSize });
  return { source, target, objects: await acceptedKeys(page.objects, accept, (o) => relativeTo(input.source.prefix, o.key)), cursor: page.cursor };
}
