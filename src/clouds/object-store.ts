import type { Readable } from 'node:stream';

/** Checksums as a provider holds them. Absent fields are ones the provider does not keep. */
export interface Checksums {
  /** MD5 of the whole object, hex. Only where the provider really holds it (never a multipart ETag). */
  md5?: string;
  /** CRC32C, base64 big-endian as GCS reports it. */
  crc32c?: string;
  /** The provider's entity tag, quotes stripped. */
  etag?: string;
  /**
   * SHA-256 of the whole object, hex: provider-neutral, computed by cloudshift while the bytes
   * streamed in and kept in the object's metadata (SHA256_METADATA_KEY). Absent on objects
   * cloudshift did not write.
   */
  sha256?: string;
  /**
   * SHA-256 of the whole object, hex, as the provider itself computed and keeps it (S3's
   * full-object additional checksum). What checks a write where the ETag is no MD5: an object
   * under SSE-KMS or a customer's key, a multipart object copied onto itself.
   */
  providerSha256?: string;
}

/** Metadata keys cloudshift adds; letters and digits only, so every provider accepts them. */
export const SHA256_METADATA_KEY = 'cloudshiftsha256';
export const SOURCE_VERSION_METADATA_KEY = 'cloudshiftsourceversion';
/**
 * The migration (by name, which is its workflow id) that wrote a target object. A rollback's
 * clean-up deletes only objects marked with its own migration: the source-version mark alone is
 * left by every migration, so deleting by it took other migrations' copies too.
 */
export const MIGRATION_METADATA_KEY = 'cloudshiftmigration';

/** Moves cloudshift's checksum out of user metadata into `checksums`. */
export function splitMetadata(metadata: Record<string, string> | undefined): { metadata: Record<string, string>; sha256?: string } {
  const { [SHA256_METADATA_KEY]: sha256, ...rest } = metadata ?? {};
  return { metadata: rest, sha256 };
}

export interface ObjectInfo {
  key: string;
  size: number;
  checksums: Checksums;
  /**
   * Changes whenever the content changes: S3 ETag, GCS generation, Azure ETag, size and mtime
   * on a filesystem. The copy records it to know what it already copied.
   */
  version?: string;
  /** ISO 8601. */
  lastModified?: string;
  /** Provider's class or tier name, e.g. STANDARD, GLACIER, ARCHIVE, Cool. */
  storageClass?: string;
  contentType?: string;
  metadata?: Record<string, string>;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Pass back to get the next page; absent on the last page. */
  cursor?: string;
}

export interface ListOptions {
  cursor?: string;
  /** @default 1000 */
  pageSize?: number;
}

export interface WriteOptions {
  /** Known size, if any; only a hint for choosing single or multipart upload. */
  size?: number;
  contentType?: string;
  metadata?: Record<string, string>;
  /**
   * 'always': the object's metadata ends up holding the SHA-256 even where that takes a second
   * request after the upload. 'with-upload': only where it goes up with the bytes (a
   * single-request upload, an Azure block commit); `stored.checksums.sha256` in the result says
   * whether it did, and the caller keeps it elsewhere.
   * @default 'always'
   */
  sha256Metadata?: 'always' | 'with-upload';
  /**
   * The MD5 the source states for these bytes (a single-part ETag, a Content-MD5). The write fails
   * with a ChecksumMismatch, leaving nothing, unless what the target stores has it. A target that
   * computes the MD5 of what it stores (GCS) is checked against it directly, and the bytes are
   * hashed for the SHA-256 alone; elsewhere the streamed MD5 must equal it too.
   */
  sourceMd5?: string;
  /** Told each step of a streamed write as it ends (`lastByteSent`, `stored`, `hashed`, `patched`), to time them. */
  mark?: (step: string) => void;
}

export interface OpenedObject {
  body: Readable;
  info: ObjectInfo;
}

export interface WriteResult {
  key: string;
  size: number;
  /** MD5 computed while the bytes streamed, hex. */
  md5: string;
  /** SHA-256 computed while the bytes streamed, hex. */
  sha256: string;
  /**
   * What the store reports holding after the write (already checked against md5 and size); its
   * `checksums.sha256` is set where the object's metadata holds the SHA-256.
   */
  stored: ObjectInfo;
}

/**
 * One bucket or container. Keys are full object keys within it. Implementations stream: no whole
 * object is ever held in memory, only parts of bounded size.
 */
export interface ObjectStore {
  /** A URI naming the bucket, for messages, e.g. `gs://models`. */
  readonly uri: string;
  ensureContainer(): Promise<void>;
  /** One page of objects under the prefix, in the provider's key order. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** @throws StoreError NotFound when the object is missing. */
  head(key: string): Promise<ObjectInfo>;
  read(key: string): Promise<Readable>;
  /** Opens an object for reading with what the provider says about it in the same request. */
  open(key: string): Promise<OpenedObject>;
  /** Uploads and verifies: a write that returns has been checked against its streamed MD5. */
  write(key: string, body: Readable, options?: WriteOptions): Promise<WriteResult>;
  /** Idempotent: deleting a missing object succeeds. */
  delete(key: string): Promise<void>;
}

export interface MultipartOptions {
  /** Objects larger than one part go up in parts of this size. @default 16 MiB */
  partSizeBytes?: number;
  /** Parts in flight at once per object. @default 4 */
  partConcurrency?: number;
}

export const DEFAULT_MULTIPART: Required<MultipartOptions> = {
  partSizeBytes: 16 * 1024 * 1024,
  partConcurrency: 4,
};
