/**
 * copyDataWorkflow on the dev server against the real emulators: every ordered pair of stores,
 * re-runs, changed objects, catch-up pruning, and a listing long enough to continue as new.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobServiceClient } from '@azure/storage-blob';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListPageResult } from '../../src/activities/copy-data.js';
import { createActivities } from '../../src/activities/index.js';
import type { ObjectStore } from '../../src/clouds/object-store.js';
import { parseSpec, type Cloud, type StorageLocation } from '../../src/spec.js';
import { type CopyDataInput, type CopyDataResult, copyStatusQuery } from '../../src/workflows/copy-data.js';
import { localActivityDeps } from '../../src/worker.js';
import { CONTROL_TASK_QUEUE } from '../../src/workflows/definitions.js';
import { md5OfStream, patternMd5, patternSha256, patternStream, uniqueBucket } from '../support/data.js';
import { encryptByDefaultWithKms, LOCAL_PROFILE, testResolver } from '../support/stores.js';
import { connectTemporal, runWorkersUntil, type TemporalTestContext, testWorkers } from '../support/temporal.js';

let temporal: TemporalTestContext;
const stores = testResolver();
const MiB = 1024 * 1024;

beforeAll(async () => {
  temporal = await connectTemporal();
});
afterAll(async () => {
  await temporal?.close();
});

const workers = () => testWorkers(temporal, { queues: ['control', 'aws', 'gcp', 'azure', 'onprem'], stores, identity: 'copy-data-test' });

const copyDefaults = (overrides: Record<string, unknown> = {}) => {
  const parsed = parseSpec({
    name: 'x',
    source: { cloud: 'aws', profile: 'p', bucket: 'aaa' },
    target: { cloud: 'gcp', profile: 'p', bucket: 'bbb' },
    copy: { partSizeMiB: 5, concurrency: 8, ...overrides },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.spec.copy;
};

async function runCopy(input: Omit<CopyDataInput, 'copy'> & { copy?: Record<string, unknown> }, watch?: (id: string) => Promise<void>) {
  const id = `copy-test-${randomBytes(4).toString('hex')}`;
  return runWorkersUntil(await workers(), async () => {
    const handle = await temporal.client.workflow.start('copyDataWorkflow', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId: id,
      args: [{ ...input, copy: copyDefaults(input.copy) }],
    });
    await watch?.(id);
    const result = (await handle.result()) as CopyDataResult;
    const runs = (await handle.query(copyStatusQuery)).runs;
    return { result, runs, id };
  });
}

/** The mixed set: empty, small, one above the multipart threshold, odd keys, with metadata. */
const MIXED = [
  { rel: 'empty.bin', size: 0 },
  { rel: 'small/a.csv', size: 1234 },
  { rel: 'small/b.csv', size: 99 },
  { rel: 'with space/ünïcødé ✓.txt', size: 4321 },
  { rel: 'large/model.onnx', size: 11 * MiB + 17 },
];

async function seed(store: ObjectStore, prefix: string, files = MIXED, salt = 0) {
  await store.ensureContainer();
  await Promise.all(
    files.map((f, i) =>
      store.write(`${prefix}${f.rel}`, patternStream(f.size, i + 1 + salt), { contentType: 'application/x-cloudshift-test', metadata: { team: 'ml' } }),
    ),
  );
}

async function expectSameBytes(target: ObjectStore, prefix: string, files = MIXED, salt = 0) {
  for (const [i, f] of files.entries()) {
    const key = `${prefix}${f.rel}`;
    expect(await md5OfStream(await target.read(key)), key).toEqual({ md5: patternMd5(f.size, i + 1 + salt), size: f.size });
    const head = await target.head(key);
    expect(head.contentType, key).toBe('application/x-cloudshift-test');
    expect(head.metadata?.team, key).toBe('ml');
  }
}

const location = (cloud: Cloud, bucket: string, prefix: string): StorageLocation => ({ cloud, profile: LOCAL_PROFILE[cloud], bucket, prefix });
const CLOUDS: Cloud[] = ['aws', 'gcp', 'azure', 'onprem'];
const PAIRS = CLOUDS.flatMap((from) => CLOUDS.filter((to) => to !== from).map((to) => [from, to] as const));

describe('copyDataWorkflow between every ordered pair of stores', () => {
  const sourceBuckets = Object.fromEntries(CLOUDS.map((c) => [c, uniqueBucket(`src-${c}`)])) as Record<Cloud, string>;

  beforeAll(async () => {
    await Promise.all(CLOUDS.map((c) => seed(stores.store(location(c, sourceBuckets[c], '')), 'data/')));
  });

  it.each(PAIRS)('%s → %s: identical bytes, content type and metadata; a manifest', async (from, to) => {
    const targetBucket = uniqueBucket(`dst-${to}`);
    const target = stores.store(location(to, targetBucket, ''));
    await target.ensureContainer();
    const { result } = await runCopy({
      migration: `pair-${from}-${to}`,
      source: location(from, sourceBuckets[from], 'data/'),
      target: location(to, targetBucket, 'moved/'),
      mode: 'initial',
    });
    expect(result.progress).toMatchObject({ copiedObjects: 5, skippedObjects: 0, verifiedObjects: 5, mismatches: 0 });
    await expectSameBytes(target, 'moved/');
    const manifest = await target.list(`moved/.cloudshift/pair-${from}-${to}/manifest/`);
    expect(manifest.objects).toHaveLength(1);
    const lines = (await md5OfStreamText(await target.read(manifest.objects[0]!.key))).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.key).sort()).toEqual(MIXED.map((f) => `data/${f.rel}`).sort());
    for (const line of lines) expect(line.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('copyDataWorkflow with an S3 bucket that encrypts by default with SSE-KMS', () => {
  it('copies into it and out of it: every write checked by S3\'s own checks, no ETag taken for an MD5', async () => {
    // Before, every write into such a bucket failed its check (the ETag is no MD5) and was retried for ever.
    const encrypted = uniqueBucket('kms');
    const kms = stores.store(location('aws', encrypted, ''));
    await kms.ensureContainer();
    await encryptByDefaultWithKms(encrypted);
    const plain = uniqueBucket('plain-gcs');
    await seed(stores.store(location('gcp', plain, '')), 'data/');
    const into = await runCopy({ migration: 'into-kms', source: location('gcp', plain, 'data/'), target: location('aws', encrypted, 'moved/'), mode: 'initial' });
    expect(into.result.progress).toMatchObject({ copiedObjects: 5, verifiedObjects: 5, mismatches: 0 });
    await expectSameBytes(kms, 'moved/');
    expect((await kms.head('moved/small/a.csv')).checksums.md5, 'the ETag is no MD5').toBeUndefined();
    const back = uniqueBucket('back-gcs');
    await stores.store(location('gcp', back, '')).ensureContainer();
    const out = await runCopy({ migration: 'out-of-kms', source: location('aws', encrypted, 'moved/'), target: location('gcp', back, 'again/'), mode: 'initial' });
    expect(out.result.progress).toMatchObject({ copiedObjects: 5, verifiedObjects: 5, mismatches: 0 });
    await expectSameBytes(stores.store(location('gcp', back, '')), 'again/');
  });
});

describe('copyDataWorkflow from an Azure blob whose Content-MD5 is stale', () => {
  it.each([
    ['gcp', 'small/a.csv', 1234],
    ['gcp', 'large/model.onnx', 11 * MiB + 17],
    ['aws', 'small/a.csv', 1234],
  ] as const)('→ %s (%s): fails at once, naming the object and both digests, and keeps nothing of it', async (to, rel, size) => {
    // A block-list upload stores whatever Content-MD5 its client sent; set here as a stale one.
    // Before, every attempt failed the same way until the batch's 15 retries ran out (~10 min).
    const bucket = uniqueBucket('stale-md5');
    const files = MIXED.filter((f) => f.rel === rel);
    const source = stores.store(location('azure', bucket, ''));
    await seed(source, 'data/', files);
    const stale = Buffer.from(patternMd5(size, 99), 'hex');
    await BlobServiceClient.fromConnectionString('UseDevelopmentStorage=true').getContainerClient(bucket).getBlockBlobClient(`data/${rel}`).setHTTPHeaders({ blobContentMD5: stale, blobContentType: 'application/x-cloudshift-test' });
    const targetBucket = uniqueBucket(`stale-${to}`);
    const target = stores.store(location(to, targetBucket, ''));
    await target.ensureContainer();
    const started = Date.now();
    const failed = await runCopy({ migration: `stale-md5-${to}`, source: location('azure', bucket, 'data/'), target: location(to, targetBucket, 'moved/'), mode: 'initial' }).catch((e: unknown) => e);
    const cause = failureChain(failed).find((e) => (e as { type?: string }).type === 'SourceChecksumMismatch') as Error | undefined;
    expect(cause?.message).toBe(
      `read ${source.uri}/data/${rel}: the source states MD5 ${stale.toString('hex')}, but its bytes, read twice, hash to ${patternMd5(size, 1)}; not retried: ` +
        'its stated MD5 is stale (an Azure blob keeps the Content-MD5 its uploader sent; an S3-compatible store may answer an ETag that is no MD5) or its bytes are damaged at the source; nothing was kept at the target for it. Correct or re-upload the object, or leave it out with copy.exclude',
    );
    expect(Date.now() - started).toBeLessThan(60_000);
    await expect(target.head(`moved/${rel}`)).rejects.toMatchObject({ kind: 'NotFound' });
  });
});

/** An error and its causes, outermost first (a workflow failure wraps the activity's). */
function failureChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e && chain.length < 8; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

describe('checksum records', () => {
  // S3 multipart and GCS resumable uploads learn the SHA-256 only at their end; rather than a
  // second write of the object, the copy keeps it in a record bound to the object's version.
  it.each(['aws', 'gcp'] as const)('keep the SHA-256 of a streamed upload to %s, and vouch only for the version they name', async (to) => {
    const sourceBucket = uniqueBucket('rec-s');
    const source = stores.store(location('azure', sourceBucket, ''));
    const targetBucket = uniqueBucket(`rec-${to}`);
    const target = stores.store(location(to, targetBucket, ''), { partSizeBytes: 5 * MiB });
    await source.ensureContainer();
    await target.ensureContainer();
    const size = 11 * MiB + 3;
    await source.write('in/big.bin', patternStream(size, 41), { contentType: 'application/octet-stream' });
    const input = { migration: 'records', source: location('azure', sourceBucket, 'in/'), target: location(to, targetBucket, 'out/'), mode: 'initial' as const };
    const record = 'out/.cloudshift/records/checksums/big.bin.json';

    expect((await runCopy(input)).result.progress).toMatchObject({ copiedObjects: 1, verifiedObjects: 1, mismatches: 0 });
    expect((await target.head('out/big.bin')).checksums.sha256).toBeUndefined();
    expect(JSON.parse(await md5OfStreamText(await target.read(record)))).toMatchObject({ size, sha256: patternSha256(size, 41) });
    const manifest = (await target.list('out/.cloudshift/records/manifest/')).objects[0]!;
    expect(JSON.parse((await md5OfStreamText(await target.read(manifest.key))).trim()).sha256).toBe(patternSha256(size, 41));
    expect((await runCopy(input)).result.progress).toMatchObject({ copiedObjects: 0, skippedObjects: 1 });

    // Another version of the object, even with cloudshift's source-version mark: the record no longer vouches.
    const mark = (await target.head('out/big.bin')).metadata!;
    await target.write('out/big.bin', patternStream(size, 42), { contentType: 'application/octet-stream', metadata: mark, sha256Metadata: 'with-upload' });
    expect((await runCopy(input)).result.progress).toMatchObject({ copiedObjects: 1, skippedObjects: 0, verifiedObjects: 1 });
    expect((await md5OfStream(await target.read('out/big.bin'))).md5).toBe(patternMd5(size, 41));

    // A damaged record vouches for nothing either.
    await target.write(record, Readable.from([Buffer.from('{"version":')]));
    expect((await runCopy(input)).result.progress).toMatchObject({ copiedObjects: 1, skippedObjects: 0, verifiedObjects: 1 });
  });
});

async function md5OfStreamText(stream: AsyncIterable<Buffer | string>): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

describe('copyDataWorkflow re-runs', () => {
  it('copies nothing the second time, re-copies a changed object, and a catch-up prunes deleted ones', async () => {
    const srcBucket = uniqueBucket('rerun-s');
    const dstBucket = uniqueBucket('rerun-t');
    const source = stores.store(location('aws', srcBucket, ''));
    const target = stores.store(location('azure', dstBucket, ''));
    await seed(source, 'ds/');
    await target.ensureContainer();
    const input = { migration: 'rerun', source: location('aws', srcBucket, 'ds/'), target: location('azure', dstBucket, 'ds/'), mode: 'initial' as const };

    expect((await runCopy(input)).result.progress).toMatchObject({ copiedObjects: 5, skippedObjects: 0 });
    expect((await runCopy(input)).result.progress).toMatchObject({ copiedObjects: 0, skippedObjects: 5, verifiedObjects: 5 });

    await source.write('ds/small/a.csv', patternStream(2000, 77), { contentType: 'application/x-cloudshift-test', metadata: { team: 'ml' } });
    await source.write('ds/new.txt', patternStream(10, 78));
    await source.delete('ds/small/b.csv');
    const catchUp = await runCopy({ ...input, mode: 'catchUp', copy: { deleteExtraneous: true } });
    expect(catchUp.result.progress).toMatchObject({ copiedObjects: 2, skippedObjects: 3, deletedCount: 1, deleted: ['ds/small/b.csv'], verifiedObjects: 5 });
    expect((await md5OfStream(await target.read('ds/small/a.csv'))).md5).toBe(patternMd5(2000, 77));
    await expect(target.head('ds/small/b.csv')).rejects.toMatchObject({ kind: 'NotFound' });
    // Its own manifest is under the prefix, yet never pruned.
    expect((await target.list('ds/.cloudshift/')).objects.length).toBeGreaterThan(0);
  });

  it('a catch-up against the initial manifest copies only what changed, carries the rest, and writes a whole manifest', async () => {
    const srcBucket = uniqueBucket('cu-s');
    const dstBucket = uniqueBucket('cu-t');
    const source = stores.store(location('aws', srcBucket, ''));
    const target = stores.store(location('gcp', dstBucket, ''));
    await seed(source, 'ds/');
    await target.ensureContainer();
    const input = { migration: 'cu', source: location('aws', srcBucket, 'ds/'), target: location('gcp', dstBucket, 'ds/'), mode: 'initial' as const };
    const initial = await runCopy(input);
    expect(initial.result.manifestParts).toBe(1);

    await source.write('ds/small/a.csv', patternStream(2000, 77));
    // Same size, other bytes: another version, so it is copied again.
    await source.write('ds/with space/ünïcødé ✓.txt', patternStream(4321, 99));
    await source.write('ds/zz-new.txt', patternStream(10, 78));
    await source.delete('ds/small/b.csv');
    const catchUp = await runCopy({ ...input, mode: 'catchUp', copy: { deleteExtraneous: true }, baseline: { parts: initial.result.manifestParts! } });
    expect(catchUp.result.progress).toMatchObject({ copiedObjects: 3, skippedObjects: 2, unchangedObjects: 2, deletedCount: 1, verifiedObjects: 5, mismatches: 0 });
    expect(catchUp.result.manifestPrefix).toBe('ds/.cloudshift/cu/manifest-catch-up/');
    expect((await md5OfStream(await target.read('ds/with space/ünïcødé ✓.txt'))).md5).toBe(patternMd5(4321, 99));
    await expect(target.head('ds/small/b.csv')).rejects.toMatchObject({ kind: 'NotFound' });
    // The catch-up manifest names every object the source holds now, each with the digest of the bytes at the target.
    const parts = (await target.list('ds/.cloudshift/cu/manifest-catch-up/')).objects;
    const lines = (await Promise.all(parts.map(async (o) => (await md5OfStreamText(await target.read(o.key))).trim().split('\n'))))
      .flat()
      .map((l) => JSON.parse(l) as { key: string; sha256: string; size: number });
    expect(lines.map((l) => l.key).sort()).toEqual(['ds/empty.bin', 'ds/large/model.onnx', 'ds/small/a.csv', 'ds/with space/ünïcødé ✓.txt', 'ds/zz-new.txt']);
    for (const l of lines) expect((await target.head(l.key)).size, l.key).toBe(l.size);
    expect(lines.find((l) => l.key === 'ds/small/a.csv')?.size).toBe(2000);
    // The initial manifest is kept as it was.
    expect((await target.list('ds/.cloudshift/cu/manifest/')).objects).toHaveLength(1);
  });

  it('trusts a target found empty at the start on a first attempt only: a retry lists it and skips what is there', async () => {
    const srcBucket = uniqueBucket('empty-s');
    const dstBucket = uniqueBucket('empty-t');
    const source = stores.store(location('aws', srcBucket, ''));
    await source.ensureContainer();
    await source.write('one.bin', patternStream(1000, 5));
    await stores.store(location('gcp', dstBucket, '')).ensureContainer();
    const activities = createActivities(localActivityDeps({ stores }));
    const refs: ListPageResult = await new MockActivityEnvironment().run(activities.listSourcePage, { source: location('aws', srcBucket, ''), pageSize: 10, include: [], exclude: [] });
    expect(await new MockActivityEnvironment().run(activities.targetIsEmpty, { target: location('gcp', dstBucket, '') })).toBe(true);
    const batch = (targetEmptyAtStart: boolean) => ({
      migration: 'empty',
      source: location('aws', srcBucket, ''),
      target: location('gcp', dstBucket, ''),
      objects: refs.objects,
      concurrency: 1,
      partSizeMiB: 5,
      targetEmptyAtStart,
    });
    expect(await new MockActivityEnvironment({ attempt: 1 }).run(activities.copyBatch, batch(true))).toMatchObject({ copied: 1, skipped: 0 });
    expect(await new MockActivityEnvironment().run(activities.targetIsEmpty, { target: location('gcp', dstBucket, '') })).toBe(false);
    // A first attempt takes the flag at its word: it lists nothing, and so writes the object again.
    expect(await new MockActivityEnvironment({ attempt: 1 }).run(activities.copyBatch, batch(true))).toMatchObject({ copied: 1, skipped: 0 });
    // A retry cannot know what its earlier attempt finished after the last heartbeat: it lists.
    expect(await new MockActivityEnvironment({ attempt: 2 }).run(activities.copyBatch, batch(true))).toMatchObject({ copied: 0, skipped: 1 });
    expect(await new MockActivityEnvironment({ attempt: 1 }).run(activities.copyBatch, batch(false))).toMatchObject({ copied: 0, skipped: 1 });
  });

  it('honours include and exclude globs, and a dry run copies nothing', async () => {
    const srcBucket = uniqueBucket('glob-s');
    const dstBucket = uniqueBucket('glob-t');
    const source = stores.store(location('onprem', srcBucket, ''));
    const target = stores.store(location('gcp', dstBucket, ''));
    await seed(source, '');
    await target.ensureContainer();
    const base = { migration: 'globs', source: location('onprem', srcBucket, ''), target: location('gcp', dstBucket, ''), mode: 'initial' as const };

    const dry = await runCopy({ ...base, copy: { dryRun: true }, estimatedMiBps: 100 });
    expect(dry.result.plan).toMatchObject({ objects: 5, bytes: MIXED.reduce((n, f) => n + f.size, 0) });
    expect(dry.result.plan!.estimatedSeconds).toBeCloseTo(dry.result.plan!.bytes / (100 * MiB), 6);
    expect((await target.list('')).objects).toHaveLength(0);

    const { result } = await runCopy({ ...base, copy: { include: ['small/**', '**/*.onnx'], exclude: ['**/b.csv'] } });
    expect(result.progress).toMatchObject({ copiedObjects: 2, verifiedObjects: 2 });
    expect((await target.list('')).objects.map((o) => o.key).filter((k) => !k.startsWith('.cloudshift/')).sort()).toEqual(['large/model.onnx', 'small/a.csv']);
  });
});

describe('copyDataWorkflow at scale', () => {
  it('carries a 20,000-object listing through continue-as-new', async () => {
    const srcBucket = uniqueBucket('many-s');
    const dstBucket = uniqueBucket('many-t');
    const source = stores.store(location('onprem', srcBucket, ''));
    await source.ensureContainer();
    const count = 20_000;
    const keys = Array.from({ length: count }, (_, i) => `shards/${String(Math.floor(i / 1000)).padStart(2, '0')}/obj-${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 200) {
      await Promise.all(keys.slice(i, i + 200).map((key, j) => source.write(key, patternStream(16, i + j))));
    }
    const { result, runs } = await runCopy({
      migration: 'many',
      source: location('onprem', srcBucket, ''),
      target: location('onprem', dstBucket, ''),
      mode: 'initial',
      copy: { batchSize: 1000, concurrency: 16 },
      maxBatchesPerRun: 8,
    });
    expect(result.progress).toMatchObject({ listedObjects: count, copiedObjects: count, verifiedObjects: count, mismatches: 0 });
    expect(runs).toBeGreaterThan(1);
  });
});
