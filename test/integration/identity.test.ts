/**
 * Identity proven, not assumed, on the real stores: a target copy whose bytes changed under kept
 * metadata is never taken for verified (its source is kept), one store under two names is refused
 * before anything is written, and a run's clean-up deletes only what its own run wrote.
 */
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { closeSync, openSync, statSync, utimesSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCopyDataActivities } from '../../src/activities/copy-data.js';
import { errorBoundary } from '../../src/activities/failures.js';
import { createTeardownActivities } from '../../src/activities/teardown.js';
import { localStackProfiles, type Profile, s3Client, StoreResolver } from '../../src/clouds/profiles.js';
import { STATE_DIR } from '../../src/paths.js';
import type { Cloud, StorageLocation } from '../../src/spec.js';
import { patternStream, uniqueBucket } from '../support/data.js';
import { LOCAL_PROFILE } from '../support/stores.js';

const AZURITE = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IDB0t0ko1zyb5lOdE9+nPVF8lN0xxGDvkUk7B4g78Q==;BlobEndpoint=http://localhost:10000/devstoreaccount1;';
const profiles = localStackProfiles(STATE_DIR);
const stores = new StoreResolver({ ...profiles, 'azure-by-connection-string': { cloud: 'azure', connectionStringEnv: 'AZ_ALIAS', development: false } }, { AZ_ALIAS: AZURITE });
const copy = createCopyDataActivities({ stores });
const teardown = createTeardownActivities({ stores });
const noop = () => {};
const env = () => new MockActivityEnvironment({ heartbeatTimeoutMs: 60_000 }, { interceptors: [errorBoundary], logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop } });
/** Runs one activity as a worker would: through the boundary every worker registers. */
const act = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> => env().run(fn, ...args) as Promise<R>;
const at = (cloud: Cloud, bucket: string, prefix = 'd/', profile = LOCAL_PROFILE[cloud]): StorageLocation => ({ cloud, profile, bucket, prefix });
const SIZE = 4096;

async function seed(location: StorageLocation, keys: string[]): Promise<void> {
  const store = stores.store(location);
  await store.ensureContainer();
  for (const [i, key] of keys.entries()) await store.write(`${location.prefix}${key}`, patternStream(SIZE, i + 1));
}

async function copyAll(source: StorageLocation, target: StorageLocation, mark: string) {
  await stores.store(target).ensureContainer();
  const page = await act(copy.listSourcePage, { source, pageSize: 100, include: [], exclude: [] });
  await act(copy.copyBatch, { migration: 'identity', mark, source, target, objects: page.objects, concurrency: 2, partSizeMiB: 16 });
  return page.objects;
}

/** Puts other bytes of the same size under `key`, with the object's metadata (cloudshift's marks and SHA-256 label) as it was. */
async function rewriteKeepingMetadata(location: StorageLocation, key: string): Promise<void> {
  const bytes = Buffer.alloc(SIZE, 0x5a);
  switch (location.cloud) {
    case 'aws': {
      const client = s3Client(profiles['local-s3'] as Profile & { cloud: 'aws' });
      const head = await client.send(new HeadObjectCommand({ Bucket: location.bucket, Key: key }));
      await client.send(new PutObjectCommand({ Bucket: location.bucket, Key: key, Body: bytes, Metadata: head.Metadata }));
      return;
    }
    case 'gcp': {
      const file = new Storage({ apiEndpoint: 'http://127.0.0.1:4443', projectId: 'cloudshift-local' }).bucket(location.bucket).file(key);
      const [metadata] = await file.getMetadata();
      await file.save(bytes, { resumable: false, metadata: { metadata: metadata.metadata } });
      return;
    }
    case 'azure': {
      const blob = BlobServiceClient.fromConnectionString('UseDevelopmentStorage=true').getContainerClient(location.bucket).getBlockBlobClient(key);
      const properties = await blob.getProperties();
      await blob.upload(bytes, bytes.length, { metadata: properties.metadata });
      return;
    }
    case 'onprem': {
      // Bit rot: the bytes change in place, the size and modification time do not.
      const path = join((profiles['local-fs'] as Profile & { cloud: 'onprem' }).root, location.bucket, key);
      const before = statSync(path, { bigint: true });
      const fd = openSync(path, 'r+');
      writeSync(fd, Buffer.from([0xff, 0x00, 0xff]), 0, 3, 100);
      closeSync(fd);
      utimesSync(path, Number(before.atimeNs) / 1e9, Number(before.mtimeNs) / 1e9);
      return;
    }
  }
}

describe('verified means the bytes', () => {
  const pairs: [Cloud, Cloud][] = [
    ['onprem', 'aws'],
    ['onprem', 'gcp'],
    ['onprem', 'azure'],
    ['aws', 'onprem'],
  ];
  it.each(pairs)('%s → %s: a target copy rewritten with its metadata kept keeps its source; the others are retired', async (from, to) => {
    const source = at(from, uniqueBucket('vb-s'));
    const target = at(to, uniqueBucket('vb-t'));
    await seed(source, ['a.bin', 'b.bin', 'c.bin']);
    await copyAll(source, target, 'run-1');
    await rewriteKeepingMetadata(target, 'd/b.bin');
    const retired = await act(teardown.deleteVerifiedSourcePage, { migration: 'identity', source, target, include: [], exclude: [], pageSize: 100, concurrency: 2 });
    expect(retired).toMatchObject({ deleted: 2, kept: 1 });
    // On disk the restored mtime can differ below the microsecond, and then the record no longer
    // vouches for the file before its bytes are read: kept either way, and said why.
    const why = to === 'onprem' ? /^d\/b\.bin: (the bytes of d\/b\.bin no longer hash to the SHA-256 recorded when they were copied|no verified copy of this version at the target)/ : /^d\/b\.bin: the bytes of d\/b\.bin no longer hash to the SHA-256 recorded when they were copied/;
    expect(retired.keptKeys).toEqual([expect.stringMatching(why)]);
    const left = await stores.store(source).list(source.prefix);
    expect(left.objects.map((o) => o.key)).toEqual(['d/b.bin']);
  });

  it('the catch-up takes a target copy whose version changed for a copy to redo, and redoes it', async () => {
    const source = at('onprem', uniqueBucket('cu-s'));
    const target = at('gcp', uniqueBucket('cu-t'));
    await seed(source, ['a.bin', 'b.bin']);
    await copyAll(source, target, 'run-1');
    const verified = await act(copy.verifyPage, { migration: 'identity', source, target, include: [], exclude: [], pageSize: 100, concurrency: 2, part: 1, full: false });
    expect(verified).toMatchObject({ objects: 2, mismatches: 0 });
    await rewriteKeepingMetadata(target, 'd/a.bin');
    const diff = await act(copy.catchUpDiffPage, { migration: 'identity', source, target, include: [], exclude: [], pageSize: 100, baselinePart: 1, baselineParts: 1, part: 1 });
    expect(diff.changed).toEqual([expect.objectContaining({ key: 'd/a.bin', recheck: true })]);
    expect(diff.unchanged).toBe(1);
    const redone = await act(copy.copyBatch, { migration: 'identity', mark: 'run-1', source, target, objects: diff.changed, concurrency: 1, partSizeMiB: 16 });
    expect(redone).toMatchObject({ copied: 1, skipped: 0 });
    const retired = await act(teardown.deleteVerifiedSourcePage, { migration: 'identity', source, target, include: [], exclude: [], pageSize: 100, concurrency: 2 });
    expect(retired).toMatchObject({ deleted: 2, kept: 0 });
  });
});

describe('one store under two names', () => {
  it('refuses a copy from the Azure development profile into the same account named by a connection string, writing nothing', async () => {
    const bucket = uniqueBucket('alias');
    const source = at('azure', bucket, 'd/');
    const target = at('azure', bucket, 'd/', 'azure-by-connection-string');
    await seed(source, ['a.bin']);
    const before = (await stores.store(source).head('d/a.bin')).version;
    for (const attempt of [
      () => act(copy.copyBatch, { migration: 'identity', mark: 'run-1', source, target, objects: [{ key: 'd/a.bin', size: SIZE, version: before! }], concurrency: 1, partSizeMiB: 16 }),
      () => act(teardown.deleteMigratedTargetPage, { migration: 'identity', mark: 'run-1', source, target, pageSize: 100, concurrency: 1 }),
      () => act(copy.pruneTargetPage, { migration: 'identity', mark: 'run-1', source, target, include: [], exclude: [], pageSize: 100, concurrency: 1 }),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApplicationFailure);
      expect(error).toMatchObject({ type: 'InvalidLocations', nonRetryable: true });
      expect((error as Error).message).toMatch(/same place as the source/);
    }
    expect((await stores.store(source).head('d/a.bin')).version).toBe(before);
  });
});

describe('each run its own mark', () => {
  it("a second run's clean-up under the same name deletes none of the first run's copies", async () => {
    const source = at('aws', uniqueBucket('mk-s'));
    const target = at('onprem', uniqueBucket('mk-t'));
    await seed(source, ['a.bin', 'b.bin']);
    await copyAll(source, target, 'run-1');
    // Run 2 (same name, another mark) finds the copies in place and skips them; its clean-up keeps them.
    const page = await act(copy.listSourcePage, { source, pageSize: 100, include: [], exclude: [] });
    const second = await act(copy.copyBatch, { migration: 'identity', mark: 'run-2', source, target, objects: page.objects, concurrency: 2, partSizeMiB: 16 });
    expect(second).toMatchObject({ copied: 0, skipped: 2 });
    const cleaned = await act(teardown.deleteMigratedTargetPage, { migration: 'identity', mark: 'run-2', source, target, pageSize: 100, concurrency: 2 });
    expect(cleaned).toMatchObject({ deleted: 0, kept: 2 });
    const cleanedByFirst = await act(teardown.deleteMigratedTargetPage, { migration: 'identity', mark: 'run-1', source, target, pageSize: 100, concurrency: 2 });
    expect(cleanedByFirst).toMatchObject({ deleted: 2 });
  });
});

describe('a retire page retried after a crash', () => {
  it('counts what the first attempt deleted (from its heartbeat) with what the retry deletes', async () => {
    const source = at('onprem', uniqueBucket('rt-s'));
    const target = at('aws', uniqueBucket('rt-t'));
    await seed(source, ['a.bin', 'b.bin']);
    await copyAll(source, target, 'run-1');
    const retry = new MockActivityEnvironment({ heartbeatTimeoutMs: 60_000, attempt: 2, heartbeatDetails: { deleted: 7, kept: 0, keptKeys: [] } }, { interceptors: [errorBoundary] });
    const retired = (await retry.run(teardown.deleteVerifiedSourcePage, { migration: 'identity', source, target, include: [], exclude: [], pageSize: 100, concurrency: 2 })) as { deleted: number };
    expect(retired.deleted).toBe(9);
  });
});
