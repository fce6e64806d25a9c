import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { guard, isNetworkError, kindForHttpStatus, type StoreErrorKind, type StoreOperation } from './errors.js';
import {
  DEFAULT_MULTIPART,
  type ListOptions,
  type ListPage,
  type MultipartOptions,
  type ObjectInfo,
  type ObjectStore,
  type OpenedObject,
  SHA256_METADATA_KEY,
  splitMetadata,
  type WriteOptions,
  type WriteResult,
} from './object-store.js';
import { type ObjectHeaders, type S3RestApi, s3RestApi } from './s3-rest-api.js';
import { firstPart, md5Hex, multipartEtag, readParts, sha256Hex, stripQuotes, uploadInParts } from './streaming.js';
import { verifyWrite } from './verify.js';

const S3_CODES: Record<string, StoreErrorKind> = {
  NoSuchKey: 'NotFound',
  NoSuchBucket: 'NotFound',
  NotFound: 'NotFound',
  AccessDenied: 'AccessDenied',
  InvalidAccessKeyId: 'AccessDenied',
  SignatureDoesNotMatch: 'AccessDenied',
  ExpiredToken: 'AccessDenied',
  SlowDown: 'Throttled',
  Throttling: 'Throttled',
  RequestLimitExceeded: 'Throttled',
  ServiceUnavailable: 'Throttled',
  InternalError: 'Unavailable',
  BadDigest: 'ChecksumMismatch',
  InvalidDigest: 'ChecksumMismatch',
};

export function classifyS3Error(error: unknown): StoreErrorKind {
  const name = (error as { name?: string }).name ?? '';
  const known = S3_CODES[name];
  if (known) return known;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status) return kindForHttpStatus(status);
  if (isNetworkError(error)) return 'Unavailable';
  return 'InvalidRequest';
}

export class S3Store implements ObjectStore {
  readonly uri: string;
  private readonly multipart: Required<MultipartOptions>;
  private readonly api: S3RestApi;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    multipart: MultipartOptions = {},
  ) {
    this.uri = `s3://${bucket}`;
    this.multipart = { ...DEFAULT_MULTIPART, ...multipart };
    this.api = s3RestApi(client);
  }

  private call<T>(operation: StoreOperation, key: string | undefined, run: () => Promise<T>): Promise<T> {
    return guard(classifyS3Error, { store: this.uri, operation, key }, run);
  }

  async ensureContainer(): Promise<void> {
    await this.call('ensureContainer', undefined, async () => {
      try {
        await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      } catch (error) {
        if (classifyS3Error(error) !== 'NotFound') throw error;
        try {
          await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
        } catch (createError) {
          // Another worker may have created it between our head and create.
          const name = (createError as { name?: string }).name;
          if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw createError;
        }
      }
    });
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    return this.call('list', prefix, async () => {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix || undefined,
          ContinuationToken: options.cursor,
          MaxKeys: options.pageSize ?? 1000,
        }),
      );
      const objects: ObjectInfo[] = (page.Contents ?? []).map((o) => {
        const etag = stripQuotes(o.ETag);
        return {
          key: o.Key!,
          size: o.Size ?? 0,
          // A listing does not say how an object is encrypted; no bytes are checked against a listed
          // MD5 (a copy checks against the one its read answers with).
          checksums: { etag, md5: md5FromHeaders(o) },
          version: etag,
          lastModified: o.LastModified?.toISOString(),
          storageClass: o.StorageClass ?? 'STANDARD',
        };
      });
      return { objects, cursor: page.IsTruncated ? page.NextContinuationToken : undefined };
    });
  }

  async head(key: string): Promise<ObjectInfo> {
    return this.call('head', key, async () => {
      // ChecksumMode: S3's own SHA-256 where it keeps one, what checks a write whose ETag is no MD5.
      return infoFromHeaders(key, await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key, ChecksumMode: 'ENABLED' })));
    });
  }

  async read(key: string): Promise<Readable> {
    return (await this.open(key)).body;
  }

  async open(key: string): Promise<OpenedObject> {
    return this.call('read', key, async () => {
      const fast = await this.api.getObject(this.bucket, key).catch((error: unknown) => {
        const kind = classifyS3Error(error);
        if (kind === 'NotFound') throw error;
        // A throttled or unavailable answer the SDK retries with its backoff. Anything else (a
        // redirect to the bucket's region, a refused signature) only the SDK knows how to follow,
        // so it reads this bucket from now on; a real refusal it reports itself.
        if (kind !== 'Throttled' && kind !== 'Unavailable') this.api.forget(this.bucket);
        return undefined;
      });
      if (fast) return { body: fast.body, info: infoFromHeaders(key, fast.headers) };
      const o = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return { body: o.Body as Readable, info: infoFromHeaders(key, o) };
    });
  }

  async write(key: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    return this.call('write', key, async () => {
      const { first, rest } = await firstPart(readParts(body, this.multipart.partSizeBytes));
      if (!rest) {
        const md5 = md5Hex(first);
        const sha256 = sha256Hex(first);
        // Content-MD5 and the SHA-256 make S3 itself reject bytes that changed on the way; it
        // answers with the SHA-256 it checked, the proof where its ETag is no MD5 (SSE-KMS, SSE-C).
        const put = await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: first,
            ContentLength: first.length,
            ContentMD5: Buffer.from(md5, 'hex').toString('base64'),
            ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
            ContentType: options.contentType,
            Metadata: { ...options.metadata, [SHA256_METADATA_KEY]: sha256 },
          }),
        );
        const etag = stripQuotes(put.ETag);
        const providerSha256 = fullObjectSha256(put.ChecksumSHA256);
        const reported: ObjectInfo = {
          key,
          size: first.length,
          checksums: { etag, md5: md5FromHeaders(put), sha256, ...(providerSha256 ? { providerSha256 } : {}) },
          version: etag,
          contentType: options.contentType,
          metadata: options.metadata ?? {},
        };
        return verifyWrite(this, key, { size: first.length, md5, sha256 }, (stored) => stored.checksums.etag === md5 || stored.checksums.providerSha256 === sha256, { reported, sourceMd5: options.sourceMd5 });
      }
      const upload = await this.multipartUpload(key, rest, options);
      if (upload.size <= MAX_COPY_OBJECT_BYTES && options.sha256Metadata !== 'with-upload') {
        // Metadata goes with CreateMultipartUpload, before the SHA-256 is known; a server-side
        // copy onto itself records it (no bytes pass through us). S3 computes the copy's own
        // SHA-256 as it goes: under SSE-KMS or SSE-C the copy's ETag is no MD5, and that checks it.
        await this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: key,
            CopySource: `${this.bucket}/${encodeURIComponent(key)}`,
            ChecksumAlgorithm: 'SHA256',
            MetadataDirective: 'REPLACE',
            ContentType: options.contentType,
            Metadata: { ...options.metadata, [SHA256_METADATA_KEY]: upload.sha256 },
          }),
        );
      }
      // S3 checked each part against its Content-MD5. The whole is those parts: its ETag is the
      // MD5 of their ETags, which are their MD5s unless S3 encrypts with a KMS or customer key.
      const fromParts = [multipartEtag(upload.partMd5s), multipartEtag(upload.results.map((r) => Buffer.from(stripQuotes(r.ETag) ?? '', 'hex')))];
      return verifyWrite(
        this,
        key,
        upload,
        // A copy onto itself makes it one whose ETag is its MD5, or under SSE-KMS or SSE-C none
        // S3 lets us check: its own SHA-256 of the copy does.
        (stored) => fromParts.includes(stored.checksums.etag ?? '') || stored.checksums.etag === upload.md5 || stored.checksums.providerSha256 === upload.sha256,
        { sourceMd5: options.sourceMd5 },
      );
    });
  }

  private async multipartUpload(key: string, parts: AsyncGenerator<Buffer>, options: WriteOptions) {
    const created = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: key,
        ContentType: options.contentType,
        Metadata: options.metadata,
      }),
    );
    const uploadId = created.UploadId!;
    try {
      const uploaded = await uploadInParts(parts, this.multipart.partConcurrency, async (part) => {
        const result = await this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: part.number,
            Body: part.body,
            ContentLength: part.body.length,
            ContentMD5: part.md5Base64,
          }),
        );
        return { PartNumber: part.number, ETag: result.ETag };
      });
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: uploaded.results },
        }),
      );
      return uploaded;
    } catch (error) {
      // Orphaned parts cost money until a lifecycle rule reaps them; abort is best effort.
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.call('delete', key, async () => {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    });
  }
}

function infoFromHeaders(key: string, o: ObjectHeaders): ObjectInfo {
  const etag = stripQuotes(o.ETag);
  const { metadata, sha256 } = splitMetadata(o.Metadata);
  const providerSha256 = fullObjectSha256(o.ChecksumSHA256);
  return {
    key,
    size: o.ContentLength ?? 0,
    checksums: { etag, md5: md5FromHeaders(o), sha256, ...(providerSha256 ? { providerSha256 } : {}) },
    version: etag,
    lastModified: o.LastModified?.toISOString(),
    storageClass: o.StorageClass ?? 'STANDARD',
    contentType: o.ContentType,
    metadata,
  };
}

/** CopyObject's limit; larger objects cannot have their SHA-256 added to their metadata. */
const MAX_COPY_OBJECT_BYTES = 5 * 1024 ** 3;

/**
 * The object's MD5 where its ETag is one: a single-part upload's, unencrypted or with SSE-S3. A
 * multipart ETag (`…-N`) is not, nor is the ETag of an object under SSE-KMS or a customer's key
 * (SSE-C), though it looks like one: taken for the MD5 the source states, every copy of such an
 * object would fail its check, retried for ever.
 */
export function md5FromHeaders(o: { ETag?: string; ServerSideEncryption?: string; SSECustomerAlgorithm?: string }): string | undefined {
  const etag = stripQuotes(o.ETag);
  if (o.SSECustomerAlgorithm || o.ServerSideEncryption?.startsWith('aws:kms')) return undefined;
  return etag && /^[0-9a-f]{32}$/.test(etag) ? etag : undefined;
}

/** S3's SHA-256 of the whole object, hex; not a multipart checksum of part checksums (`…-N`). */
function fullObjectSha256(checksum: string | undefined): string | undefined {
  if (!checksum || checksum.includes('-')) return undefined;
  const bytes = Buffer.from(checksum, 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : undefined;
}
