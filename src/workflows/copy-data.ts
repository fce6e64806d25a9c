import { ActivityCancellationType, ApplicationFailure, continueAsNew, getExternalWorkflowHandle, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { CopyBatchResult, CopyObjectRef } from '../activities/copy-data.js';
import type { MigrationSpec, StorageLocation } from '../spec.js';
import { catchUpManifestFolder, manifestFolder } from '../migration-paths.js';
import { CLOUD_RETRY, copyProgressSignal, copyStatusQuery, taskQueueFor } from './definitions.js';
import { type CopyDataResult, type CopyProgress, type CopySample, type CopyStage, type CopyStatus, TIMELINE_POINTS } from './status.js';
import { copyCounter, migrationTags } from './metrics.js';

export type { CopyDataResult, CopyProgress, CopyStage, CopyStatus } from './status.js';
export { copyProgressSignal, copyStatusQuery } from './definitions.js';

export interface CopyDataInput {
  migration: string;
  /**
   * The run's own mark (its first run id), put on every object it writes; its clean-up deletes
   * only objects with this mark. Absent in runs recorded before marks: the name then.
   */
  mark?: string;

  source: StorageLocation;
  target: StorageLocation;
  copy: MigrationSpec['copy'];
  /** `catchUp` is the cutover pass: copies what changed and, if asked, prunes what was deleted. */
  mode: 'initial' | 'catchUp';
  /** Totals the audit counted, for progress and the time left. */
  expected?: { objects: number; bytes: number };
  /** For a dry run's time estimate. */
  estimatedMiBps?: number;
  /** Batches started per run before continuing as new. @default 400 */
  maxBatchesPerRun?: number;
  /** How long a silent copy activity is presumed dead and retried elsewhere. @default 60 */
  heartbeatTimeoutSeconds?: number;
  /** The migration to send progress to (the `copyProgress` signal), at most every 15 s. */
  reportTo?: string;
  /** Catch-up: the initial copy's manifest, to compare the source with instead of the target. */
  baseline?: { parts: number };
  /** Carried across continue-as-new; absent on the first run. */
  state?: CopyState;
}



export interface CopyState {
  stage: CopyStage;
  cursor?: string;
  /** The stage's listing has reached its end (its cursor is spent). */
  listingDone: boolean;
  progress: CopyProgress;
  manifestParts: number;
  startedAt: string;
  runs: number;
  /** Checked once, before the initial pass lists anything; carried across continue-as-new. */
  targetEmptyAtStart?: boolean;
  /** The copy's course so far (see sample()). */
  timeline?: CopySample[];
  /** Catch-up against the initial manifest (decided once, carried across continue-as-new). */
  fromBaseline?: boolean;
  /** Where the next catch-up page starts reading the initial manifest. */
  baselinePart?: number;
}




/** Often enough to watch, rarely enough that a million-object copy adds few history events. */
const REPORT_EVERY_MS = 15_000;

const MAX_KEYS = 20;
const VERIFY_PAGE = 1000;
/** Keeps one batch's bytes bounded, so large objects spread across batches and workers. */
const BATCH_BYTES = 512 * 1024 * 1024;
/** Objects one batch copies at once. */
const PER_BATCH_CONCURRENCY = 8;
/** Histories recorded before the copy asked whether its target was empty replay without asking. */
const EMPTY_TARGET_CHECK = 'copy-checks-for-an-empty-target';
/** Histories recorded before the catch-up compared the source with the initial manifest replay the old pass. */
const CATCH_UP_FROM_MANIFEST = 'catch-up-from-manifest';


const emptyProgress = (): CopyProgress => ({
  listedObjects: 0, listedBytes: 0, copiedObjects: 0, copiedBytes: 0, skippedObjects: 0, skippedBytes: 0,
  vanishedCount: 0, vanished: [], deletedCount: 0, deleted: [], verifiedObjects: 0, verifiedBytes: 0, mismatches: 0, mismatchKeys: [],
});

const appendBounded = (list: string[], more: readonly string[]) => list.push(...more.slice(0, Math.max(0, MAX_KEYS - list.length)));

/** Splits a listing page into batches bounded by count and bytes. */
export function splitIntoBatches(objects: readonly CopyObjectRef[], maxCount: number, maxBytes: number): CopyObjectRef[][] {
  const batches: CopyObjectRef[][] = [];
  let current: CopyObjectRef[] = [];
  let bytes = 0;
  for (const o of objects) {
    if (current.length > 0 && (current.length >= maxCount || bytes + o.size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(o);
    bytes += o.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Copies every object under the source prefix to the target and proves it: lists page by page
 * behind a cursor, copies batches on the target cloud's queue with bounded parallelism, prunes
 * (catch-up with deleteExtraneous), then verifies object by object and writes the manifest.
 * Continues as new before its history grows large, carrying cursor and counters.
 */
export async function copyDataWorkflow(input: CopyDataInput): Promise<CopyDataResult> {
  const state: CopyState = input.state ?? {
    stage: input.copy.dryRun ? 'plan' : 'copy',
    listingDone: false,
    progress: emptyProgress(),
    manifestParts: 0,
    startedAt: new Date().toISOString(),
    runs: 0,
    ...(input.mode === 'catchUp' && input.baseline && !input.copy.dryRun && patched(CATCH_UP_FROM_MANIFEST) ? { fromBaseline: true, baselinePart: 1 } : {}),
  };
  state.runs++;
  const p = state.progress;
  const countCopy = copyCounter(migrationTags(input.migration, input.source.cloud, input.target.cloud), input.mode === 'initial' ? 'copy' : 'catchUp');
  // The course starts at zero, so even a copy that ends in one workflow task has a line to draw.
  if (!state.timeline) sample(state);
  setHandler(copyStatusQuery, () => statusOf(state, input.expected));

  // A listing page is one request: the worker's boundary beats while it waits, so a worker that
  // dies mid-listing is retried elsewhere after 30 s, not after the 10-minute limit.
  const onSource = proxyActivities<Activities>({ taskQueue: taskQueueFor(input.source.cloud), startToCloseTimeout: '10m', heartbeatTimeout: '30s', retry: CLOUD_RETRY });
  const onTarget = proxyActivities<Activities>({
    taskQueue: taskQueueFor(input.target.cloud),
    startToCloseTimeout: '12h',
    // Cancelled with its parent's rollback, the copy ends only when its batches have stopped
    // writing, so the parent's clean-up runs after the last write (see migration.ts).
    cancellationType: patched('copy-waits-for-cancellation') ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED : ActivityCancellationType.TRY_CANCEL,
    // copyBatch heartbeats every 5 s even while one large object streams.
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds ?? 60}s`,
    retry: CLOUD_RETRY,
  });
  const filters = { include: input.copy.include, exclude: input.copy.exclude };
  const concurrency = input.copy.concurrency;
  const maxBatches = input.maxBatchesPerRun ?? 400;
  let batchesThisRun = 0;
  const rollOver = () => batchesThisRun >= maxBatches || workflowInfo().continueAsNewSuggested;
  let lastReport = 0;
  const report = () => {
    const now = new Date().getTime();
    if (!input.reportTo || now - lastReport < REPORT_EVERY_MS) return;
    lastReport = now;
    const { workflowId } = workflowInfo();
    // Fire and forget: a migration that is gone must not fail its copy.
    getExternalWorkflowHandle(input.reportTo).signal(copyProgressSignal, { workflowId, status: statusOf(state, input.expected) }).catch(() => undefined);
  };
  const nextStage = (stage: CopyStage) => {
    state.stage = stage;
    state.cursor = undefined;
    state.listingDone = false;
  };

  if (state.stage === 'copy' && input.mode === 'initial' && p.listedObjects === 0 && state.targetEmptyAtStart === undefined && patched(EMPTY_TARGET_CHECK)) {
    state.targetEmptyAtStart = await onTarget.targetIsEmpty({ target: input.target });
  }

  /**
   * The next page to copy: a source page as listed, or, in a catch-up against the initial
   * manifest, only what changed since (the rest counted as carried over, verified then).
   */
  const nextSourcePage = async (): Promise<CopyObjectRef[]> => {
    if (state.fromBaseline) {
      const diff = await onTarget.catchUpDiffPage.executeWithOptions({ summary: `catch-up: a source page against the initial manifest (part ${state.baselinePart})` }, [
        { migration: input.migration, source: input.source, target: input.target, cursor: state.cursor, pageSize: VERIFY_PAGE, baselinePart: state.baselinePart ?? 1, baselineParts: input.baseline!.parts, part: ++state.manifestParts, ...filters },
      ]);
      state.cursor = diff.cursor;
      state.listingDone = !diff.cursor;
      state.baselinePart = diff.baselinePart;
      p.listedObjects += diff.listed;
      p.listedBytes += diff.listedBytes;
      p.skippedObjects += diff.unchanged;
      p.skippedBytes += diff.unchangedBytes;
      p.verifiedObjects += diff.unchanged;
      p.verifiedBytes += diff.unchangedBytes;
      p.unchangedObjects = (p.unchangedObjects ?? 0) + diff.unchanged;
      countCopy({ skipped: diff.unchanged, skippedBytes: diff.unchangedBytes, verified: diff.unchanged, verifiedBytes: diff.unchangedBytes });
      sample(state);
      // Not from the last page with nothing to copy: the child would end with the signal in
      // flight, which Temporal's time-skipping test server never settles.
      if (!state.listingDone || diff.changed.length > 0) report();
      return diff.changed;
    }
    const page = await onSource.listSourcePage({ source: input.source, cursor: state.cursor, pageSize: input.copy.batchSize, ...filters });
    state.cursor = page.cursor;
    state.listingDone = !page.cursor;
    p.listedObjects += page.objects.length;
    p.listedBytes += page.objects.reduce((n, o) => n + o.size, 0);
    return page.objects;
  };

  if (state.stage === 'plan' || state.stage === 'copy') {
    const inFlight = new Set<Promise<void>>();
    let slots = 0;
    let failure: unknown;
    const perBatch = Math.min(PER_BATCH_CONCURRENCY, concurrency);
    const share = (objects: number) => Math.min(objects, perBatch);
    for (;;) {
      while (!state.listingDone && slots < concurrency && !rollOver() && !failure) {
        const toCopy = await nextSourcePage();
        if (state.stage === 'plan') continue;
        for (const objects of splitIntoBatches(toCopy, input.copy.batchSize, BATCH_BYTES)) {
          const cost = share(objects.length);
          slots += cost;
          batchesThisRun++;
          const task: Promise<void> = onTarget.copyBatch
            .executeWithOptions({ summary: `${input.mode === 'catchUp' ? 'catch-up: ' : ''}${objects.length} objects from ${objects[0]!.key}` }, [{
              migration: input.migration,
              ...(input.mark ? { mark: input.mark } : {}),
              source: input.source,
              target: input.target,
              objects,
              concurrency: cost,
              partSizeMiB: input.copy.partSizeMiB,
              bandwidthMiBps: input.copy.bandwidthMiBps ? (input.copy.bandwidthMiBps * cost) / concurrency : undefined,
              targetEmptyAtStart: state.targetEmptyAtStart,
              ...(state.fromBaseline ? { catchUpManifestPart: ++state.manifestParts } : {}),
            }])
            .then(
              (r: CopyBatchResult) => {
                p.copiedObjects += r.copied;
                p.copiedBytes += r.copiedBytes;
                p.skippedObjects += r.skipped;
                p.skippedBytes += r.skippedBytes;
                p.vanishedCount += r.vanished.length;
                p.retries = (p.retries ?? 0) + (r.retries ?? 0);
                if (state.fromBaseline) {
                  // Each line was written from a write verified end to end as it streamed.
                  p.verifiedObjects += r.copied + r.skipped;
                  p.verifiedBytes += r.copiedBytes + r.skippedBytes;
                }
                appendBounded(p.vanished, r.vanished);
                countCopy({
                  copied: r.copied, copiedBytes: r.copiedBytes, skipped: r.skipped, skippedBytes: r.skippedBytes, vanished: r.vanished.length, retries: r.retries,
                  ...(state.fromBaseline ? { verified: r.copied + r.skipped, verifiedBytes: r.copiedBytes + r.skippedBytes } : {}),
                });
                sample(state);
                report();
              },
              (e: unknown) => {
                failure ??= e;
              },
            )
            .finally(() => {
              slots -= cost;
              inFlight.delete(task);
            });
          inFlight.add(task);
        }
      }
      if (inFlight.size === 0) break;
      await Promise.race(inFlight);
    }
    if (failure) throw failure;
    if (state.stage === 'plan') {
      const estimatedSeconds = input.estimatedMiBps ? p.listedBytes / (input.estimatedMiBps * 1024 * 1024) : undefined;
      return { progress: p, plan: { objects: p.listedObjects, bytes: p.listedBytes, estimatedSeconds } };
    }
    if (!state.listingDone) return continueAsNew<typeof copyDataWorkflow>({ ...input, state });
    nextStage(input.mode === 'catchUp' && input.copy.deleteExtraneous ? 'prune' : 'verify');
  }

  if (state.stage === 'prune') {
    while (!state.listingDone) {
      if (rollOver()) return continueAsNew<typeof copyDataWorkflow>({ ...input, state });
      const page = await onTarget.pruneTargetPage({ migration: input.migration, ...(input.mark ? { mark: input.mark } : {}), source: input.source, target: input.target, cursor: state.cursor, pageSize: VERIFY_PAGE, concurrency, ...filters });
      batchesThisRun++;
      p.deletedCount += page.deletedCount;
      appendBounded(p.deleted, page.deleted);
      state.cursor = page.cursor;
      state.listingDone = !page.cursor;
    }
    nextStage('verify');
  }

  // A catch-up against the initial manifest verified as it went: carried lines and verified writes.
  while (!state.listingDone && !state.fromBaseline) {
    if (rollOver()) return continueAsNew<typeof copyDataWorkflow>({ ...input, state });
    const page = await onTarget.verifyPage.executeWithOptions({ summary: `${input.mode === 'catchUp' ? 'catch-up ' : ''}verify page ${state.manifestParts + 1}: the target against the source, a manifest part written` }, [{
      migration: input.migration,
      source: input.source,
      target: input.target,
      cursor: state.cursor,
      pageSize: VERIFY_PAGE,
      concurrency,
      part: ++state.manifestParts,
      full: input.copy.verify === 'full',
      ...filters,
    }]);
    batchesThisRun++;
    p.verifiedObjects += page.objects;
    p.verifiedBytes += page.bytes;
    p.mismatches += page.mismatches;
    p.retries = (p.retries ?? 0) + (page.retries ?? 0);
    appendBounded(p.mismatchKeys, page.mismatchKeys);
    countCopy({ verified: page.objects, verifiedBytes: page.bytes, mismatched: page.mismatches, retries: page.retries });
    state.cursor = page.cursor;
    state.listingDone = !page.cursor;
    sample(state);
    report();
  }
  if (p.mismatches > 0) {
    throw ApplicationFailure.nonRetryable(
      `Copy verification failed: ${p.mismatches} of ${p.mismatches + p.verifiedObjects} objects do not match at the target (first: ${p.mismatchKeys.join('; ')}). The copy only reads the source (the spec keeps the target apart from it), so the source is as it was; re-run the copy to repair.`,
      'CopyVerificationFailed',
      { mismatches: p.mismatches, mismatchKeys: p.mismatchKeys },
    );
  }
  sample(state);
  return {
    progress: p,
    manifestPrefix: state.fromBaseline ? catchUpManifestFolder(input.target, input.migration) : manifestFolder(input.target, input.migration),
    manifestParts: state.manifestParts,
    seconds: elapsedSeconds(state),
    timeline: state.timeline,
  };
}

const elapsedSeconds = (state: CopyState) => Math.max((new Date().getTime() - Date.parse(state.startedAt)) / 1000, 1e-3);

/**
 * Adds a point to the copy's course. Bounded however long the copy: when full, every other point
 * goes, so the samples stay spread over the whole copy, newest kept.
 */
function sample(state: CopyState): void {
  const p = state.progress;
  const timeline = (state.timeline ??= []);
  const point: CopySample = {
    seconds: Math.round(elapsedSeconds(state) * 1000) / 1000,
    stage: state.stage,
    objects: p.copiedObjects + p.skippedObjects,
    bytes: p.copiedBytes + p.skippedBytes,
    verified: p.verifiedObjects,
    retries: p.retries ?? 0,
  };
  // Several batches ending in one workflow task share a time: keep the latest totals only.
  if (timeline.at(-1)?.seconds === point.seconds) timeline.pop();
  timeline.push(point);
  if (timeline.length > TIMELINE_POINTS) state.timeline = timeline.filter((_, i) => i % 2 === 1 || i === timeline.length - 1);
}

function statusOf(state: CopyState, expected: CopyDataInput['expected']): CopyStatus {
  const p = state.progress;
  const seconds = elapsedSeconds(state);
  const doneBytes = p.copiedBytes + p.skippedBytes;
  const bytesPerSecond = doneBytes / seconds;
  const totalBytes = expected?.bytes ?? (state.listingDone ? p.listedBytes : undefined);
  return {
    stage: state.stage,
    runs: state.runs,
    progress: p,
    expected,
    mibPerSecond: bytesPerSecond / (1024 * 1024),
    objectsPerSecond: (p.copiedObjects + p.skippedObjects) / seconds,
    etaSeconds: totalBytes !== undefined && bytesPerSecond > 0 ? Math.max(0, (totalBytes - doneBytes) / bytesPerSecond) : undefined,
    elapsedSeconds: seconds,
  };
}
