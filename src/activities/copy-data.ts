/**
 * The copy phase's activities: list the source page by page, copy batches (the target pulls),
 * prune what the source no longer has (catch-up, this migration's copies only), verify and write
 * the manifest. The workflow side is src/workflows/copy-data.ts.
 */
import { Context, activityInfo, heartbeat } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { MIGRATION_METADATA_KEY, type ObjectInfo, type ObjectStore, SOURCE_VERSION_METADATA_KEY } from '../clouds/object-store.js';
import type { StoreResolver } from '../clouds/profiles.js';
import { ChecksumRecords } from '../copy/checksum-records.js';
import { bytesDiffer, isVerifiedCopy } from '../copy/verified-copy.js';
import { acceptedKeys, keyFilter, relativeTo } from '../copy/filters.js';
import { readTwiceOnSourceMismatch } from '../copy/source-digest.js';
import { Bandwidth } from '../copy/throttle.js';
import { type CopyTimeline, copyTimeline } from '../copy/timeline.js';
import { DEFAULT_LARGE_OBJECTS_AT_ONCE, LARGE_OBJECTS_AT_ONCE_BOUNDS, ThroughputClimber, TransferSlots } from '../copy/transfer-slots.js';
import { catchUpManifestPart, manifestPart } from '../migration-paths.js';
import { keyIn, type StorageLocation } from '../spec.js';
import { asActivity } from './failures.js';
import {
  acceptedSourcePage,
  assertApart,
  byteOrder,
  type Filters,
  forEachLimited,
  headIfExists,
  isNotFound,
  listedTargets,
  MAX_REPORTED_KEYS,
  MiB,
  sourcePageWithTargets,
  storedAt,
  storeOf,
  targetKeyOf,
  undefinedIfNotFound,
  versionOf,
  withLocation,
} from './object-access.js';

export type { Filters } from './object-access.js';

export interface CopyDeps {
  stores: StoreResolver;
  /**
   * Objects above the part size in transfer at once across all of this worker's batches. Absent:
   * adaptive, from 4 within 1–16, by the throughput the target sustains (ThroughputClimber).
   */
  largeObjectsAtOnce?: number;
}

/** One source object as the listing saw it; small, since pages of these pass through history. */
export interface CopyObjectRef {
  key: string;
  size: number;
  version: string;
  /** The target's copy changed since it was verified: skip it only if its bytes still hash as recorded. */
  recheck?: boolean;
}

export interface ListPageInput extends Filters {
  source: StorageLocation;
  cursor?: string;
  pageSize: number;
}

export interface ListPageResult {
  objects: CopyObjectRef[];
  cursor?: string;
}

export interface CopyBatchInput {
  /** The migration whose folder keeps checksum records of objects that cannot carry them. */
  migration: string;
  /**
   * The run's own mark (its first run id), put on every object it writes; its clean-up deletes
   * only objects with this mark. Absent in runs recorded before marks: the name then.
   */
  mark?: string;
  source: StorageLocation;
  target: StorageLocation;
  objects: CopyObjectRef[];
  /** Objects copied at once within this batch. */
  concurrency: number;
  partSizeMiB: number;
  /** This batch's share of the bandwidth limit. */
  bandwidthMiBps?: number;
  /**
   * The target held nothing under its prefix when the initial pass began, so a first attempt has
   * nothing to skip and need not list the target. A retry lists: its earlier attempt wrote some.
   */
  targetEmptyAtStart?: boolean;
  /**
   * Catch-up: the part of the catch-up manifest this batch writes, a line per object it copied or
   * found already there (each write was verified end to end as it streamed). Such a batch does not
   * resume from its heartbeat: a retry re-examines every object (those already there are skipped).
   */
  catchUpManifestPart?: number;
}

/** One line of a manifest part, as verifyPage and the catch-up write them. */
export interface ManifestLine {
  key: string;
  targetKey: string;
  size: number;
  sha256: string;
  sourceVersion: string;
  /**
   * The target object's version (S3/Azure ETag, GCS generation, size and mtime on disk) when it
   * was verified: the catch-up takes a target whose version changed since for a copy to redo.
   * Absent in manifests written before it.
   */
  targetVersion?: string;
}

export interface CatchUpDiffInput extends Filters {
  migration: string;
  source: StorageLocation;
  target: StorageLocation;
  cursor?: string;
  pageSize: number;
  /** The initial manifest's part to start reading at (where the previous page ended). */
  baselinePart: number;
  /** How many parts the initial manifest has (numbers may have gaps: empty pages write none). */
  baselineParts: number;
  /** The catch-up manifest part this page's unchanged lines go to. */
  part: number;
}

export interface CatchUpDiffResult {
  /** Objects not in the initial manifest as they are now (new, or another size or version): to copy. */
  changed: CopyObjectRef[];
  listed: number;
  listedBytes: number;
  /** Objects the initial copy verified whose source is unchanged since: carried over, not touched. */
  unchanged: number;
  unchangedBytes: number;
  /** Where the next page starts reading the initial manifest. */
  baselinePart: number;
  cursor?: string;
}

export interface CopyBatchResult {
  copied: number;
  copiedBytes: number;
  skipped: number;
  skippedBytes: number;
  /** Objects deleted from the source between listing and copy: reported, not fatal. */
  vanished: string[];
  /** Earlier attempts of this batch that failed and were retried (the activity's attempt − 1). */
  retries?: number;
}

/** One page of a pass over the source, compared with the target (prune, verify, retire). */
export interface PagePassInput extends Filters {
  source: StorageLocation;
  target: StorageLocation;
  cursor?: string;
  pageSize: number;
  concurrency: number;
}

export interface PruneInput extends PagePassInput {
  /** Only objects this run copied are pruned. */
  migration: string;
  /**
   * The run's own mark (its first run id), put on every object it writes; its clean-up deletes
   * only objects with this mark. Absent in runs recorded before marks: the name then.
   */
  mark?: string;
}

export interface VerifyPageInput extends PagePassInput {
  migration: string;
  /** Manifest part number, so a retried page rewrites its own part. */
  part: number;
  /** Re-read every target object and recompute its SHA-256. */
  full: boolean;
}

export interface VerifyPageResult {
  objects: number;
  bytes: number;
  mismatches: number;
  /** The first few, for the report. */
  mismatchKeys: string[];
  manifestKey?: string;
  cursor?: string;
  /** Earlier attempts of this page that failed and were retried. */
  retries?: number;
}

interface BatchProgress {
  done: number[];
  result: CopyBatchResult;
}

export function createCopyDataActivities(deps: CopyDeps) {
  const largeTransfers = new TransferSlots(deps.largeObjectsAtOnce ?? DEFAULT_LARGE_OBJECTS_AT_ONCE);
  const climber = deps.largeObjectsAtOnce === undefined ? new ThroughputClimber(DEFAULT_LARGE_OBJECTS_AT_ONCE, LARGE_OBJECTS_AT_ONCE_BOUNDS, performance.now() / 1000) : undefined;
  /** A large transfer under the worker's cap; its bytes and end tell the climber how the target keeps up. */
  const largeTransfer = async <T extends { written: { size: number } } | undefined>(work: () => Promise<T>, signal: AbortSignal): Promise<T> => {
    const done = await largeTransfers.run(work, signal);
    if (climber && done) {
      const next = climber.completed(done.written.size, performance.now() / 1000);
      if (next !== undefined) largeTransfers.setLimit(next);
    }
    return done;
  };
  return {
    /** One page of the source listing, filtered; runs on the source cloud's queue. */
    async listSourcePage(input: ListPageInput): Promise<ListPageResult> {
      return asActivity(
        withLocation(input.source, async () => {
          const accept = keyFilter(input.include, input.exclude);
          const page = await storeOf(deps.stores, input.source).list(input.source.prefix, { cursor: input.cursor, pageSize: input.pageSize });
          return {
            objects: (await acceptedKeys(page.objects, accept, (o) => relativeTo(input.source.prefix, o.key))).map((o) => ({ key: o.key, size: o.size, version: versionOf(o) })),
            cursor: page.cursor,
          };
        }),
      );
    },


    /**
     * Copies a batch, streaming each object from source to target; runs on the target cloud's
     * queue (the target pulls). An object the target already holds from the same source version,
     * with its checksum recorded, is skipped, so re-runs and retries copy only what is missing.
     * Heartbeats the finished indexes: a retry after a worker dies resumes from them.
     */
    async copyBatch(input: CopyBatchInput): Promise<CopyBatchResult> {
      await assertApart(input.source, input.target, 'copy', deps.stores);
      return asActivity(
        withLocation(input.target, async () => {
          const source = storeOf(deps.stores, input.source);
          const target = storeOf(deps.stores, input.target, input.partSizeMiB);
          const records = new ChecksumRecords(target, input.target, input.migration);
          const resumed = input.catchUpManifestPart === undefined ? (activityInfo().heartbeatDetails as BatchProgress | undefined) : undefined;
          const lines: string[] = [];
          const line = (ref: CopyObjectRef, targetKey: string, stored: ObjectInfo, sha256: string) => {
            if (input.catchUpManifestPart !== undefined) lines.push(JSON.stringify({ key: ref.key, targetKey, size: stored.size, sha256, sourceVersion: ref.version, ...(stored.version ? { targetVersion: stored.version } : {}) } satisfies ManifestLine));
          };
          const done = new Set(resumed?.done ?? []);
          const result: CopyBatchResult = resumed?.result ?? { copied: 0, copiedBytes: 0, skipped: 0, skippedBytes: 0, vanished: [] };
          const bandwidth = input.bandwidthMiBps ? new Bandwidth(input.bandwidthMiBps * MiB) : undefined;
          const cancelled = Context.current().cancellationSignal;
          const beat = () => heartbeat({ done: [...done], result } satisfies BatchProgress);
          // Cancellation reaches us through the heartbeat; streams in flight stop at once.
          const open = new Set<Readable>();
          const abortStreams = () => open.forEach((body) => body.destroy(ApplicationFailure.create({ message: 'copy cancelled', type: 'Cancelled' })));
          cancelled.addEventListener('abort', abortStreams);
          // Heartbeats on a clock, also while one large object streams for minutes. Not one per
          // object: the SDK sends only the latest details per throttle interval anyway, and
          // converting them on every call cost 10-15 % of a small-object copy's throughput. An
          // object finished since the last beat is found at the target on a retry, and skipped.
          const timeoutMs = activityInfo().heartbeatTimeoutMs ?? 60_000;
          const ticker = setInterval(beat, Math.min(1_000, Math.max(250, timeoutMs / 4)));
          /** Streams one object to the target; undefined when it left the source after the listing. */
          const transfer = async (ref: CopyObjectRef, targetKey: string, timeline?: CopyTimeline) => {
            timeline?.mark('slot');
            const opened = await source.open(ref.key).catch(undefinedIfNotFound);
            timeline?.mark('opened');
            if (!opened) return undefined;
            const { body, info } = opened;
            open.add(body);
            body.once('close', () => open.delete(body));
            let stream: Readable = body;
            if (bandwidth) {
              stream = body.pipe(bandwidth.stream());
              body.once('error', (e) => stream.destroy(e));
            }
            const written = await target.write(targetKey, stream, {
              size: info.size,
              contentType: info.contentType,
              metadata: { ...info.metadata, [SOURCE_VERSION_METADATA_KEY]: versionOf(info), [MIGRATION_METADATA_KEY]: input.mark ?? input.migration },
              sha256Metadata: 'with-upload',
              // Where the source holds a whole-object MD5, what the target stores must have it.
              ...(info.checksums.md5 ? { sourceMd5: info.checksums.md5 } : {}),
              ...(timeline ? { mark: timeline.mark } : {}),
            });
            timeline?.mark('written');
            return { written };
          };
          const copyOne = async (ref: CopyObjectRef, index: number, present: Map<string, ObjectInfo> | undefined): Promise<void> => {
            const targetKey = targetKeyOf(input.source, input.target, ref.key);
            const existing = await storedAt(target, records, present, targetKey);
            if (isVerifiedCopy(existing, ref) && (!ref.recheck || (await bytesDiffer(target, existing)) === undefined)) {
              result.skipped++;
              result.skippedBytes += ref.size;
              line(ref, targetKey, existing, existing.checksums.sha256);
            } else {
              // The slot covers the bytes in transfer only: the checksum record is a small write
              // that, on a target finalising other large objects, can wait behind them.
              const large = ref.size > input.partSizeMiB * MiB;
              const timeline = large ? copyTimeline(ref.key, ref.size) : undefined;
              const copyOnce = () => (large ? largeTransfer(() => transfer(ref, targetKey, timeline), cancelled) : transfer(ref, targetKey));
              const copied = await readTwiceOnSourceMismatch(copyOnce, { uri: source.uri, key: ref.key });
              if (!copied) {
                if (result.vanished.length < MAX_REPORTED_KEYS) result.vanished.push(ref.key);
              } else {
                const { written } = copied;
                await records.keep(written.stored, written.sha256);
                timeline?.mark('recordKept');
                timeline?.end();
                line(ref, targetKey, written.stored, written.sha256);
                result.copied++;
                result.copiedBytes += written.size;
              }
            }
            done.add(index);
          };
          try {
            // A listing per batch is a request per batch on a real cloud and, on fake-gcs-server, a
            // walk of the whole bucket that holds back every write meanwhile (154–171 objects/s
            // with it, 195–207 without, 10,000 small objects).
            const nothingToSkip = input.targetEmptyAtStart === true && activityInfo().attempt === 1;
            const present = nothingToSkip ? new Map<string, ObjectInfo>() : await listedTargets(target, input.objects.map((o) => targetKeyOf(input.source, input.target, o.key)));
            await forEachLimited(input.objects, input.concurrency, async (ref, index) => {
              if (done.has(index)) return;
              if (cancelled.aborted) throw new CancelledFailure('copy cancelled');
              try {
                await copyOne(ref, index, present);
              } catch (error) {
                // A stream we aborted on cancellation surfaces as a store error; report the cancellation.
                if (cancelled.aborted) throw new CancelledFailure('copy cancelled', undefined, error as Error);
                throw error;
              }
            });
            if (input.catchUpManifestPart !== undefined && lines.length > 0) {
              await target.write(catchUpManifestPart(input.target, input.migration, input.catchUpManifestPart), Readable.from([Buffer.from(`${lines.join('\n')}\n`)]), { contentType: 'application/x-ndjson' });
            }
            return { ...result, retries: activityInfo().attempt - 1 };
          } finally {
            clearInterval(ticker);
            cancelled.removeEventListener('abort', abortStreams);
          }
        }),
      );
    },


    /**
     * Catch-up, one source page: compared with the initial copy's manifest, not with the target.
     * An object listed there with the same size and source version was verified then and has not
     * changed since: its line is carried into the catch-up manifest and the target is not asked.
     * Everything else comes back to be copied. (Retiring the source still checks each object at
     * the target before deleting it.)
     */
    async catchUpDiffPage(input: CatchUpDiffInput): Promise<CatchUpDiffResult> {
      await assertApart(input.source, input.target, 'catch up', deps.stores);
      return asActivity(
        withLocation(input.target, async () => {
          const { target, objects, cursor } = await acceptedSourcePage(deps.stores, input);
          // What the target holds now: a copy whose version changed since it was verified is redone.
          const targetKeys = objects.map((o) => targetKeyOf(input.source, input.target, o.key));
          const present = await listedTargets(target, targetKeys);
          const targetVersionOf = async (key: string) => (present ? present.get(key) : await headIfExists(target, key))?.version;
          const baseline = new Map<string, ManifestLine>();
          const last = objects.at(-1)?.key;
          let part = Math.max(1, input.baselinePart);
          // Parts are in listing order: read on until one ends at or past this page's last key.
          for (; last !== undefined && part <= input.baselineParts; part++) {
            const lines = await readManifestPart(target, manifestPart(input.target, input.migration, part));
            for (const l of lines) baseline.set(l.key, l);
            const end = lines.at(-1)?.key;
            if (end !== undefined && byteOrder(end, last) >= 0) break;
          }
          heartbeat();
          const result: CatchUpDiffResult = { changed: [], listed: objects.length, listedBytes: 0, unchanged: 0, unchangedBytes: 0, baselinePart: Math.min(part, Math.max(1, input.baselineParts)), cursor };
          const carried: string[] = [];
          for (const [i, o] of objects.entries()) {
            result.listedBytes += o.size;
            const version = versionOf(o);
            const before = baseline.get(o.key);
            const unchanged = before && before.size === o.size && before.sourceVersion === version && before.sha256 && before.targetKey === targetKeys[i];
            if (unchanged && (before.targetVersion === undefined || before.targetVersion === (await targetVersionOf(before.targetKey)))) {
              carried.push(JSON.stringify(before));
              result.unchanged++;
              result.unchangedBytes += o.size;
            } else result.changed.push({ key: o.key, size: o.size, version, ...(unchanged ? { recheck: true } : {}) });
          }
          if (carried.length > 0) {
            await target.write(catchUpManifestPart(input.target, input.migration, input.part), Readable.from([Buffer.from(`${carried.join('\n')}\n`)]), { contentType: 'application/x-ndjson' });
          }
          return result;
        }),
      );
    },

    /** Catch-up sync: deletes target objects whose source is gone, under the prefix only. */
    async pruneTargetPage(input: PruneInput): Promise<{ deleted: string[]; deletedCount: number; cursor?: string }> {
      await assertApart(input.source, input.target, 'prune the target', deps.stores);
      return asActivity(
        withLocation(input.target, async () => {
          const source = storeOf(deps.stores, input.source);
          const target = storeOf(deps.stores, input.target);
          const accept = keyFilter(input.include, input.exclude);
          const page = await target.list(input.target.prefix, { cursor: input.cursor, pageSize: input.pageSize });
          const deleted: string[] = [];
          let deletedCount = 0;
          await forEachLimited(page.objects, input.concurrency, async (o) => {
            const relative = relativeTo(input.target.prefix, o.key);
            if (!accept(relative)) return;
            const sourceKey = keyIn(input.source, relative);
            const exists = await source.head(sourceKey).then(
              () => true,
              (e: unknown) => {
                if (isNotFound(e)) return false;
                throw e;
              },
            );
            if (exists) return;
            // Only what a migration of this name copied: an object someone else put under the
            // target prefix is not ours to remove because the source lacks it.
            const metadata = o.metadata ?? (await headIfExists(target, o.key))?.metadata;
            if (metadata?.[MIGRATION_METADATA_KEY] !== (input.mark ?? input.migration)) return;
            await target.delete(o.key);
            deletedCount++;
            if (deleted.length < MAX_REPORTED_KEYS) deleted.push(o.key);
          });
          return { deleted, deletedCount, cursor: page.cursor };
        }),
      );
    },


    /**
     * Verifies one page of the source against the target, object by object: present, same size,
     * copied from the current source version, SHA-256 recorded (and, in full mode, recomputed from
     * the target's bytes). Writes the page's manifest part as JSON lines.
     */
    async verifyPage(input: VerifyPageInput): Promise<VerifyPageResult> {
      return asActivity(
        withLocation(input.target, async () => {
          const { target, records, objects, listed, cursor } = await sourcePageWithTargets(deps.stores, input);
          const lines: string[] = new Array(objects.length);
          const result: VerifyPageResult = { objects: 0, bytes: 0, mismatches: 0, mismatchKeys: [], cursor };
          const mismatch = (key: string, why: string, index: number) => {
            result.mismatches++;
            if (result.mismatchKeys.length < MAX_REPORTED_KEYS) result.mismatchKeys.push(`${key}: ${why}`);
            lines[index] = '';
          };
          await forEachLimited(objects, input.concurrency, async (o, index) => {
            const targetKey = targetKeyOf(input.source, input.target, o.key);
            const stored = await storedAt(target, records, listed, targetKey);
            if (!stored) return mismatch(o.key, 'missing at the target', index);
            if (stored.size !== o.size) return mismatch(o.key, `size ${stored.size} at the target, ${o.size} at the source`, index);
            if (stored.metadata?.[SOURCE_VERSION_METADATA_KEY] !== versionOf(o)) return mismatch(o.key, 'the target holds another source version', index);
            if (!isVerifiedCopy(stored, { size: o.size, version: versionOf(o) })) return mismatch(o.key, 'no SHA-256 recorded at the target', index);
            if (input.full) {
              const why = await bytesDiffer(target, stored);
              if (why) return mismatch(o.key, why, index);
            }
            result.objects++;
            result.bytes += o.size;
            lines[index] = JSON.stringify({ key: o.key, targetKey, size: o.size, sha256: stored.checksums.sha256, sourceVersion: versionOf(o), ...(stored.version ? { targetVersion: stored.version } : {}) } satisfies ManifestLine);
          });
          const body = lines.filter(Boolean).join('\n');
          if (body) {
            const manifestKey = manifestPart(input.target, input.migration, input.part);
            await target.write(manifestKey, Readable.from([Buffer.from(`${body}\n`)]), { contentType: 'application/x-ndjson' });
            result.manifestKey = manifestKey;
          }
          return { ...result, retries: activityInfo().attempt - 1 };
        }),
      );
    },


    /** Whether the target holds no object under its prefix (a missing bucket holds none). */
    async targetIsEmpty({ target }: { target: StorageLocation }): Promise<boolean> {
      return asActivity(
        withLocation(target, async () => {
          const page = await storeOf(deps.stores, target).list(target.prefix, { pageSize: 1 }).catch(undefinedIfNotFound);
          return !page || page.objects.length === 0;
        }),
      );
    },

  };
}

/** A manifest part's lines; none where the part is missing (a page with nothing accepted wrote none). */
async function readManifestPart(store: ObjectStore, key: string): Promise<ManifestLine[]> {
  const body = await store.read(key).catch(undefinedIfNotFound);
  if (!body) return [];
  return parseManifestLines(await text(body));
}

/**
 * A manifest part's lines. One that does not read as a line of ours (cut short, edited by hand)
 * is left out: its object then counts as changed and is copied again, never trusted, and the
 * catch-up does not fail on it for ever.
 */
export function parseManifestLines(body: string): ManifestLine[] {
  const lines: ManifestLine[] = [];
  for (const text of body.split('\n')) {
    if (!text) continue;
    try {
      const l = JSON.parse(text) as Partial<ManifestLine> | null;
      if (l && typeof l.key === 'string' && typeof l.targetKey === 'string' && typeof l.size === 'number' && typeof l.sha256 === 'string' && typeof l.sourceVersion === 'string') lines.push(l as ManifestLine);
    } catch {
      // Not JSON: left out, as above.
    }
  }
  return lines;
}
