import type { File, Storage } from '@google-cloud/storage';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
import { firstPart, hashingTap, md5Hex, readParts, sha256Hex } from './streaming.js';
import { verifyWrite } from './verify.js';

export function classifyGcsError(error: unknown): StoreErrorKind {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number') return kindForHttpStatus(code);
  if (isNetworkError(error)) return 'Unavailable';
  const message = (error as { message?: string }).message ?? '';
  // The SDK's own check of the server's hash against the streamed bytes.
  if (/checksum|mismatch|FILE_NO_UPLOAD/i.test(message)) return 'ChecksumMismatch';
  return 'InvalidRequest';
}

type GcsMetadata = File['metadata'];

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

export class GcsStore implements ObjectStore {
  readonly uri: string;
  private readonly multipart: Required<MultipartOptions>;

  constructor(
    private readonly storage: Storage,
    private readonly bucketName: string,
    multipart: MultipartOptions = {},
  ) {
    this.uri = `gs://${bucketName}`;
    this.multipart = { ...DEFAULT_MULTIPART, ...multipart };
  }

  private get bucket() {
    return this.storage.bucket(this.bucketName);
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
      const file = this.bucket.file(key);
      const { first, rest } = await firstPart(readParts(body, this.multipart.partSizeBytes));
      if (!rest) {
        // One part: the bytes are in hand, so the SHA-256 goes up with them in one request.
        const streamed = { size: first.length, md5: md5Hex(first), sha256: sha256Hex(first) };
        await file.save(first, {
          resumable: false,
          validation: 'md5',
          contentType: options.contentType,
          metadata: { contentType: options.contentType, metadata: { ...options.metadata, [SHA256_METADATA_KEY]: streamed.sha256 } },
        });
        // The upload's response carries the object's metadata, md5Hash included.
        return verifyWrite(this, key, streamed, (stored) => stored.checksums.md5 === streamed.md5, toInfo(key, file.metadata));
      }
      // Larger objects stream through a resumable upload, which survives a dropped connection.
      // GCS has no parallel-part upload on the JSON API (only XML multipart or compose).
      const { tap, result } = hashingTap();
      const sink = file.createWriteStream({
        resumable: true,
        // We hash the bytes ourselves (tap) and compare with the md5Hash GCS computed, below;
        // the SDK's own validation would hash every byte a second time.
        validation: false,
        contentType: options.contentType,
        metadata: { contentType: options.contentType, metadata: options.metadata },
      });
      await pipeline(Readable.from(rest), tap, sink);
      const streamed = result();
      await verifyWrite(this, key, streamed, (stored) => stored.checksums.md5 === streamed.md5);
      // The SHA-256 is known only now; one PATCH records it (and, on fake-gcs-server, which drops
      // a resumable upload's first-request metadata, the content type and metadata too).
      const [patched] = await file.setMetadata({
        contentType: options.contentType,
        metadata: { ...options.metadata, [SHA256_METADATA_KEY]: streamed.sha256 },
      });
      return { key, ...streamed, stored: toInfo(key, patched) };
    });
  }

  async delete(key: string): Promise<void> {
    await this.call('delete', key, async () => {
      await this.bucket.file(key).delete({ ignoreNotFound: true });
    });
  }
}
