import type { Bucket, Storage } from '@google-cloud/storage';
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
import { type GcsJsonApi, type GcsMetadata, gcsJsonApi } from './gcs-json-api.js';
import { hashingParts, md5Hex, sha256Hex, startOf } from './streaming.js';
import { verifyWrite } from './verify.js';

export function classifyGcsError(error: unknown): StoreErrorKind {
  const code = (error as { code?: unknown }).code;
  const message = (error as { message?: string }).message ?? '';
  // GCS refusing bytes that do not hash to the declared MD5 (a 400), or the SDK's own check.
  if ((code === 400 || typeof code !== 'number') && /checksum|mismatch|FILE_NO_UPLOAD|MD5 hash .* match|CRC32C .* match/i.test(message)) return 'ChecksumMismatch';
  if (typeof code === 'number') return kindForHttpStatus(code);
  if (isNetworkError(error)) return 'Unavailable';
  return 'InvalidRequest';
}

function toInfo(key: string, m: GcsMetadata): ObjectInfo {
  const { metadata, sha256 } = splitMetadata(Object.fromEntries(Object.entries(m.metadata ?? {}).map(([k, v]) => [k, String(v)])));
  return {
    key,
    size: Number(m.size ?? 0),
    checksums: {
      md5: m.md5Hash ? Buffer.from(m.md5Hash, 'base64').toString('hex') : undefined,
      crc32c: m.crc32c,
      etag: m.etag,
      sha256,
    },
    version: m.generation === undefined ? m.etag : String(m.generation),
    lastModified: m.updated ? new Date(m.updated).toISOString() : undefined,
    storageClass: m.storageClass ?? 'STANDARD',
    contentType: m.contentType,
    metadata,
  };
}

/** Whether an object holds the content type and metadata a write asked for. */
function holdsRequested(stored: ObjectInfo, options: WriteOptions): boolean {
  if (options.contentType !== undefined && stored.contentType !== options.contentType) return false;
  return Object.entries(options.metadata ?? {}).every(([k, v]) => stored.metadata?.[k] === v);
}

export class GcsStore implements ObjectStore {
  readonly uri: string;
  private readonly multipart: Required<MultipartOptions>;
  private bucketHandle?: Bucket;
  private readonly api: GcsJsonApi;

  constructor(
    private readonly storage: Storage,
    private readonly bucketName: string,
    multipart: MultipartOptions = {},
  ) {
    this.uri = `gs://${bucketName}`;
    this.multipart = { ...DEFAULT_MULTIPART, ...multipart };
    this.api = gcsJsonApi(storage);
  }

  /** Kept: the SDK builds a new Bucket (ACL, IAM and notification helpers) on every storage.bucket(). */
  private get bucket() {
    this.bucketHandle ??= this.storage.bucket(this.bucketName);
    return this.bucketHandle;
  }

  private call<T>(operation: StoreOperation, key: string | undefined, run: () => Promise<T>): Promise<T> {
    return guard(classifyGcsError, { store: this.uri, operation, key }, run);
  }

  async ensureContainer(): Promise<void> {
    await this.call('ensureContainer', undefined, async () => {
      const [exists] = await this.bucket.exists();
      if (exists) return;
      try {
        await this.storage.createBucket(this.bucketName);
      } catch (error) {
        // 409: created meanwhile by another worker.
        if ((error as { code?: unknown }).code !== 409) throw error;
      }
    });
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    return this.call('list', prefix, async () => {
      const [files, next] = await this.bucket.getFiles({
        prefix: prefix || undefined,
        maxResults: options.pageSize ?? 1000,
        pageToken: options.cursor,
        autoPaginate: false,
      });
      const cursor = (next as { pageToken?: string } | null)?.pageToken;
      return { objects: files.map((f) => toInfo(f.name, f.metadata)), cursor: cursor || undefined };
    });
  }

  async head(key: string): Promise<ObjectInfo> {
    return this.call('head', key, async () => {
      const [metadata] = await this.bucket.file(key).getMetadata();
      return toInfo(key, metadata);
    });
  }

  async read(key: string): Promise<Readable> {
    return (await this.open(key)).body;
  }

  async open(key: string): Promise<OpenedObject> {
    return this.call('read', key, async () => {
      const file = this.bucket.file(key);
      // Metadata first, so a missing object fails here as a StoreError rather than mid-stream,
      // and the read is pinned to the generation described.
      const [metadata] = await file.getMetadata();
      const info = toInfo(key, metadata);
      const body = (metadata.generation === undefined ? file : this.bucket.file(key, { generation: metadata.generation })).createReadStream();
      return { body, info };
    });
  }

  async write(key: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    return this.call('write', key, async () => {
      const start = await startOf(body, this.multipart.partSizeBytes);
      if ('whole' in start) {
        const first = start.whole;
        // One part: the bytes are in hand, so the SHA-256 goes up with them in one request.
        const streamed = { size: first.length, md5: md5Hex(first), sha256: sha256Hex(first) };
        // Declared, the MD5 makes GCS itself refuse bytes that changed on the way.
        const uploaded = await this.api.insert(
          this.bucketName,
          {
            name: key,
            contentType: options.contentType,
            md5Hash: Buffer.from(streamed.md5, 'hex').toString('base64'),
            metadata: { ...options.metadata, [SHA256_METADATA_KEY]: streamed.sha256 },
          },
          first,
        );
        // The upload's response carries the object's metadata, md5Hash included.
        return verifyWrite(this, key, streamed, (stored) => stored.checksums.md5 === streamed.md5, { reported: toInfo(key, uploaded), sourceMd5: options.sourceMd5 });
      }
      // No parallel parts on the JSON API (only XML multipart or compose): the rest streams in
      // the source's own chunks, without gathering them into parts.
      const mark = options.mark ?? (() => undefined);
      // GCS computes the MD5 of what it stores: where the source stated one, that is the check,
      // and the bytes are hashed for the SHA-256 alone.
      const { parts, result } = hashingParts(start.stream, () => mark('lastByteSent'), { md5: options.sourceMd5 === undefined });
      const file = this.bucket.file(key);
      const [session] = await file.createResumableUpload({ metadata: { contentType: options.contentType, metadata: options.metadata } });
      const uploaded = await this.api.uploadToSession(session, parts, options.contentType).catch((error: unknown) => {
        // Whatever the source still holds is not wanted any more.
        body.destroy();
        throw error;
      });
      mark('stored');
      const digest = await result();
      const streamed = options.sourceMd5 === undefined ? digest : { ...digest, md5: options.sourceMd5 };
      mark('hashed');
      // GCS answers with the object it stored, md5Hash included, which must be the MD5 we streamed
      // (or the one the source stated).
      const verified = await verifyWrite(this, key, streamed, (stored) => stored.checksums.md5 === streamed.md5, {
        reported: toInfo(key, uploaded),
        ...(options.sourceMd5 !== undefined ? { sourceMd5: options.sourceMd5, md5ByTarget: true } : {}),
      });
      if (options.sha256Metadata === 'with-upload' && holdsRequested(verified.stored, options)) return verified;
      // The SHA-256 is known only now; one PATCH records it. It also restores a content type or
      // metadata the server dropped: fake-gcs-server takes the content type from the upload's
      // PUT, not from the session's X-Upload-Content-Type as GCS does.
      const [patched] = await file.setMetadata({
        contentType: options.contentType,
        metadata: { ...options.metadata, [SHA256_METADATA_KEY]: streamed.sha256 },
      });
      mark('patched');
      return { key, ...streamed, stored: toInfo(key, patched) };
    });
  }

  async delete(key: string): Promise<void> {
    await this.call('delete', key, async () => {
      await this.bucket.file(key).delete({ ignoreNotFound: true });
    });
  }
}
