/**
 * One contract, four stores, each against its real emulator (MinIO, fake-gcs-server, Azurite, a
 * directory). Every store must behave the same to the copy and shadow phases.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Storage } from '@google-cloud/storage';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../src/clouds/errors.js';
import { gcsJsonApi } from '../../src/clouds/gcs-json-api.js';
import { localStackProfiles, type Profile, s3Client } from '../../src/clouds/profiles.js';
import { s3RestApi } from '../../src/clouds/s3-rest-api.js';
import { STATE_DIR } from '../../src/paths.js';
import { classifyGcsError } from '../../src/clouds/gcs-store.js';
import type { ObjectStore } from '../../src/clouds/object-store.js';
import { verifyWrite } from '../../src/clouds/verify.js';
import { LOCAL_ENDPOINTS } from '../../src/dev/local-stack.js';
import type { Cloud } from '../../src/spec.js';
import { md5OfStream, patternMd5, patternSha256, patternStream, uniqueBucket } from '../support/data.js';
import { encryptByDefaultWithKms, LOCAL_PROFILE, testResolver } from '../support/stores.js';

const resolver = testResolver();
const MiB = 1024 * 1024;
const PART = 8 * MiB;
const CLOUDS: Cloud[] = ['aws', 'gcp', 'azure', 'onprem'];

async function expectStoreError(promise: Promise<unknown>, kind: StoreError['kind']): Promise<StoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected a StoreError ${kind}`).toBeInstanceOf(StoreError);
  expect((error as StoreError).kind).toBe(kind);
  return error as StoreError;
}

describe.each(CLOUDS)('ObjectStore contract: %s', (cloud) => {
  const bucket = uniqueBucket(cloud);
  let store: ObjectStore;

  beforeAll(async () => {
    store = resolver.store({ cloud, profile: LOCAL_PROFILE[cloud], bucket }, { partSizeBytes: PART, partConcurrency: 4 });
    await store.ensureContainer();
    await store.ensureContainer(); // idempotent
  });

  it('lists page by page behind a cursor, in key order, only under the prefix', async () => {
    const keys = Array.from({ length: 25 }, (_, i) => `paged/item-${String(i).padStart(3, '0')}.bin`);
    await Promise.all(keys.map((key, i) => store.write(key, patternStream(100 + i, i + 1), { size: 100 + i })));
    await store.write('paged-sibling.bin', patternStream(10, 99));
    await store.write('other/outside.bin', patternStream(10, 98));

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.list('paged/', { cursor, pageSize: 10 });
      pages++;
      for (const o of page.objects) {
        expect(o.size).toBe(100 + keys.indexOf(o.key));
        expect(o.lastModified).toMatch(/^\d{4}-\d\d-\d\dT/);
      }
      seen.push(...page.objects.map((o) => o.key));
      cursor = page.cursor;
    } while (cursor);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(seen).toEqual(keys);
  });

  it.each([
    ['an empty object', 0],
    ['a small object', 1536],
    ['a 100+ MiB object in parallel parts', 100 * MiB + 12_345],
  ])('streams %s both ways with its checksum verified', async (_label, size) => {
    const key = `roundtrip/${size}.bin`;
    const seed = size + 7;
    const expected = patternMd5(size, seed);
    const written = await store.write(key, patternStream(size, seed), {
      size,
      contentType: 'application/x-test',
      metadata: { origin: 'contract' },
    });
    const sha256 = patternSha256(size, seed);
    expect(written).toMatchObject({ key, size, md5: expected, sha256 });

    const head = await store.head(key);
    expect(head.size).toBe(size);
    expect(head.contentType).toBe('application/x-test');
    expect(head.metadata).toEqual({ origin: 'contract' });
    // The provider-neutral checksum travels with the object on every store.
    expect(head.checksums.sha256).toBe(sha256);
    // S3 holds no whole-object MD5 for multipart uploads; every other case reports the real one.
    const multipartOnS3 = cloud === 'aws' && size > PART;
    if (!multipartOnS3) expect(head.checksums.md5).toBe(expected);

    expect(await md5OfStream(await store.read(key))).toEqual({ md5: expected, size });
    await store.delete(key);
  });

  it('with sha256Metadata: with-upload, records the SHA-256 only where it goes up with the bytes, and says so', async () => {
    const size = 2 * PART + 99;
    const written = await store.write('lazy/big.bin', patternStream(size, 3), { contentType: 'application/octet-stream', metadata: { origin: 'contract' }, sha256Metadata: 'with-upload' });
    expect(written.sha256).toBe(patternSha256(size, 3));
    const head = await store.head('lazy/big.bin');
    expect(head.metadata).toEqual({ origin: 'contract' });
    // S3 and GCS take metadata before the first byte; Azure's block commit and the filesystem's sidecar come after the last.
    const recordsLater = cloud === 'azure' || cloud === 'onprem';
    expect(head.checksums.sha256).toBe(recordsLater ? written.sha256 : undefined);
    expect(written.stored.checksums.sha256).toBe(head.checksums.sha256);
    expect(written.stored.version).toBe(head.version);
    const small = await store.write('lazy/small.bin', patternStream(100, 4), { sha256Metadata: 'with-upload' });
    expect((await store.head('lazy/small.bin')).checksums.sha256).toBe(small.sha256);
  });

  it('fails a write whose source breaks mid-object, leaving no object behind', async () => {
    async function* breaking() {
      yield* patternStream(2 * PART + 10, 8);
      throw new Error('source connection reset');
    }
    await expect(store.write('broken/big.bin', Readable.from(breaking()), { sha256Metadata: 'with-upload' })).rejects.toThrow(/source connection reset/);
    await expectStoreError(store.head('broken/big.bin'), 'NotFound');
  });

  it('deletes an object that fails the check against the streamed bytes, so nothing takes it for a verified copy', async () => {
    const written = await store.write('mismatch/a.bin', patternStream(300, 9));
    const claimed = { size: written.size, md5: '0'.repeat(32), sha256: written.sha256 };
    const error = await expectStoreError(verifyWrite(store, 'mismatch/a.bin', claimed, (stored) => stored.checksums.md5 === claimed.md5), 'ChecksumMismatch');
    expect(error.retryable).toBe(true);
    await expectStoreError(store.head('mismatch/a.bin'), 'NotFound');
  });

  it.each([
    ['one request', 300],
    ['streamed in parts', 2 * PART + 7],
  ])('a write told the MD5 the source states (%s) keeps it when the bytes have it, and fails with nothing left when not', async (_, size) => {
    const md5 = patternMd5(size, 12);
    const written = await store.write('stated/ok.bin', patternStream(size, 12), { sourceMd5: md5, sha256Metadata: 'with-upload' });
    expect(written.md5).toBe(md5);
    expect(written.sha256).toBe(patternSha256(size, 12));
    expect(await md5OfStream(await store.read('stated/ok.bin'))).toEqual({ md5, size });
    // The source's MD5 of other bytes: what was read is not the object it describes.
    const other = patternMd5(size, 13);
    const error = await expectStoreError(store.write('stated/bad.bin', patternStream(size, 12), { sourceMd5: other, sha256Metadata: 'with-upload' }), 'ChecksumMismatch');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(other);
    await expectStoreError(store.head('stated/bad.bin'), 'NotFound');
  });

  it('keeps keys with spaces and unicode intact', async () => {
    const key = 'odd keys/ünïcødé ✓ + spaces (1).txt';
    await store.write(key, patternStream(64, 5));
    const page = await store.list('odd keys/');
    expect(page.objects.map((o) => o.key)).toEqual([key]);
    expect((await md5OfStream(await store.read(key))).md5).toBe(patternMd5(64, 5));
  });

  it('reports a missing object as NotFound, not retried, naming store, key and operation', async () => {
    const headError = await expectStoreError(store.head('missing/nothing-here'), 'NotFound');
    expect(headError.retryable).toBe(false);
    expect(headError.message).toContain(`head ${store.uri}/missing/nothing-here`);
    expect(headError.message).toContain('not retried');
    await expectStoreError(store.read('missing/nothing-here'), 'NotFound');
  });

  it('deletes idempotently', async () => {
    await store.write('gone/soon.txt', patternStream(10, 3));
    await store.delete('gone/soon.txt');
    await store.delete('gone/soon.txt');
    await store.delete('gone/never-was.txt');
    await expectStoreError(store.head('gone/soon.txt'), 'NotFound');
  });
});

describe('S3 where the bucket encrypts by default with SSE-KMS (ETags that are no MD5)', () => {
  const bucket = uniqueBucket('kms');
  let store: ObjectStore;

  beforeAll(async () => {
    store = resolver.store({ cloud: 'aws', profile: LOCAL_PROFILE.aws, bucket }, { partSizeBytes: PART, partConcurrency: 4 });
    await store.ensureContainer();
    await encryptByDefaultWithKms(bucket);
  });

  it.each([
    ['one request', 300, 'always'],
    ['in parts, then copied onto itself for the SHA-256', 2 * PART + 7, 'always'],
    ['in parts, left as uploaded', 2 * PART + 7, 'with-upload'],
  ] as const)('verifies a write (%s) by S3\'s own checks, not by an ETag that is no MD5', async (_, size, sha256Metadata) => {
    // Before, every such write failed its check, deleted and retried for ever.
    const md5 = patternMd5(size, 21);
    const written = await store.write(`kms/${size}-${sha256Metadata}.bin`, patternStream(size, 21), { sourceMd5: md5, sha256Metadata });
    expect(written).toMatchObject({ size, md5, sha256: patternSha256(size, 21) });
    const head = await store.head(written.key);
    expect(head.checksums.etag, 'the bucket really encrypts with KMS').not.toBe(md5);
    expect(head.checksums.md5).toBeUndefined();
    if (sha256Metadata === 'always') expect(head.checksums.sha256).toBe(written.sha256);
    expect(await md5OfStream(await store.read(written.key))).toEqual({ md5, size });
    // The source's MD5 of other bytes still fails, leaving nothing.
    await expectStoreError(store.write('kms/bad.bin', patternStream(size, 21), { sourceMd5: patternMd5(size, 22), sha256Metadata }), 'ChecksumMismatch');
    await expectStoreError(store.head('kms/bad.bin'), 'NotFound');
  });

  it('still fails an object whose stored bytes are not what was streamed', async () => {
    const written = await store.write('kms/claimed.bin', patternStream(500, 3));
    const claimed = { size: 500, md5: patternMd5(500, 4), sha256: patternSha256(500, 4) };
    await expectStoreError(verifyWrite(store, written.key, claimed, (stored) => stored.checksums.providerSha256 === claimed.sha256), 'ChecksumMismatch');
    expect((await store.write('kms/claimed.bin', patternStream(500, 3))).stored.checksums.providerSha256).toBe(written.sha256);
  });
});

describe('ObjectStore error mapping against real endpoints', () => {
  it.each([
    ['aws', 'closed-s3'],
    ['gcp', 'closed-gcs'],
    ['azure', 'closed-azure'],
  ] as const)('%s: a closed endpoint is Unavailable and retryable', async (cloud, profile) => {
    const store = resolver.store({ cloud, profile, bucket: 'any-bucket' });
    const error = await expectStoreError(store.head('some/key'), 'Unavailable');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('retryable under the step’s retry policy');
  });

  it.each([
    ['aws', 'denied-s3'],
    ['azure', 'denied-azure'],
  ] as const)('%s: credentials the emulator refuses are AccessDenied, not retried', async (cloud, profile) => {
    const store = resolver.store({ cloud, profile, bucket: 'any-bucket' });
    const error = await expectStoreError(store.list(''), 'AccessDenied');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('check the credentials');
  });

  it('gcp: bytes that do not hash to the MD5 declared with them are refused, a ChecksumMismatch that is retried', async () => {
    const bucket = uniqueBucket('md5');
    await resolver.store({ cloud: 'gcp', profile: 'local-gcs', bucket }).ensureContainer();
    const api = gcsJsonApi(new Storage({ projectId: 'cloudshift-local', apiEndpoint: LOCAL_ENDPOINTS.gcs }));
    const refused = await api.insert(bucket, { name: 'declared.bin', md5Hash: Buffer.alloc(16).toString('base64') }, Buffer.from('other bytes')).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 400 });
    expect(classifyGcsError(refused)).toBe('ChecksumMismatch');
    const stored = await api.insert(bucket, { name: 'dir/ü b.txt', contentType: 'text/plain', metadata: { owner: 'ml' } }, Buffer.from('hello'));
    expect(stored).toMatchObject({ name: 'dir/ü b.txt', size: '5', contentType: 'text/plain', metadata: { owner: 'ml' }, md5Hash: 'XUFAKrxLKna5cZ2REBfFkg==' });
  });

  it('aws: a GET sent over undici reads what the SDK reads; a refusal still goes through the SDK and is AccessDenied', async () => {
    const bucket = uniqueBucket('s3get');
    const store = resolver.store({ cloud: 'aws', profile: 'local-s3', bucket });
    await store.ensureContainer();
    const key = "dir/ü b (1)!*'~.txt";
    await store.write(key, Readable.from([Buffer.from('hello')]), { contentType: 'text/plain', metadata: { owner: 'ml' } });
    const client = s3Client(localStackProfiles(STATE_DIR)['local-s3'] as Profile & { cloud: 'aws' });
    const fast = await s3RestApi(client).getObject(bucket, key);
    expect(fast, 'the bucket takes the undici path').toBeDefined();
    const sdk = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(fast!.headers).toEqual({
      ETag: sdk.ETag,
      ContentLength: sdk.ContentLength,
      LastModified: sdk.LastModified,
      StorageClass: sdk.StorageClass,
      ContentType: sdk.ContentType,
      Metadata: sdk.Metadata,
    });
    expect((await md5OfStream(fast!.body)).md5).toBe('5d41402abc4b2a76b9719d911017c592');
    await sdk.Body!.transformToByteArray();
    await expectStoreError(store.read(`${key}.missing`), 'NotFound');

    const denied = await expectStoreError(resolver.store({ cloud: 'aws', profile: 'denied-s3', bucket }).read(key), 'AccessDenied');
    expect(denied.message).toContain(`read s3://${bucket}/${key}`);
  });

  it('onprem: a key escaping the bucket is an InvalidRequest', async () => {
    const store = resolver.store({ cloud: 'onprem', profile: 'local-fs', bucket: 'escape-test' });
    await expectStoreError(store.read('../etc/passwd'), 'InvalidRequest');
  });

  it('a profile the worker does not know fails with what it does know', () => {
    expect(() => resolver.store({ cloud: 'aws', profile: 'prod-typo', bucket: 'b' })).toThrow(/profile "prod-typo" is not known.*local-s3/);
  });
});
