/**
 * Where a target object's SHA-256 is kept when it could not go up with the bytes. A streamed
 * multipart or resumable upload learns the SHA-256 only at its end, and recording it in the
 * object's own metadata then costs a second write (a copy onto itself on S3, a metadata PATCH that
 * fake-gcs-server answers by rewriting the whole object). Instead the copy writes a small record
 * in the migration's folder, after the object was verified, naming the object version it vouches
 * for: an object overwritten since, or one whose verification failed, has no valid record and is
 * copied again.
 */
import { Readable } from 'node:stream';
import { StoreError } from '../clouds/errors.js';
import { type ObjectInfo, type ObjectStore, SOURCE_VERSION_METADATA_KEY } from '../clouds/object-store.js';
import type { StorageLocation } from '../spec.js';
import { checksumRecord } from '../migration-paths.js';
import { relativeTo } from './filters.js';

interface ChecksumRecord {
  /** The target object's version when it was verified (GCS generation, S3/Azure ETag). */
  version: string;
  size: number;
  sha256: string;
}

function parseRecord(text: string): ChecksumRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<ChecksumRecord>;
    return typeof r.version === 'string' && typeof r.size === 'number' && typeof r.sha256 === 'string' ? (r as ChecksumRecord) : undefined;
  } catch {
    return undefined;
  }
}

export class ChecksumRecords {
  constructor(
    private readonly store: ObjectStore,
    private readonly location: StorageLocation,
    private readonly migration: string,
  ) {}

  private recordKey(key: string): string {
    return checksumRecord(this.location, this.migration, relativeTo(this.location.prefix, key));
  }

  /** Records the SHA-256 of an object just written and verified, unless the object carries it. */
  async keep(stored: ObjectInfo, sha256: string): Promise<void> {
    if (stored.checksums.sha256) return;
    if (stored.version === undefined) throw new Error(`${this.store.uri}/${stored.key}: the store reported no version to bind the checksum record to`);
    const record: ChecksumRecord = { version: stored.version, size: stored.size, sha256 };
    await this.store.write(this.recordKey(stored.key), Readable.from([Buffer.from(JSON.stringify(record))]), { contentType: 'application/json' });
  }

  /**
   * The object with its SHA-256 filled in from its record, where cloudshift copied it and the
   * record still describes this very version; otherwise as it was.
   */
  async resolve(info: ObjectInfo): Promise<ObjectInfo> {
    if (info.checksums.sha256 || info.metadata?.[SOURCE_VERSION_METADATA_KEY] === undefined) return info;
    let text: string;
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of await this.store.read(this.recordKey(info.key))) chunks.push(chunk as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } catch (error) {
      if (error instanceof StoreError && error.kind === 'NotFound') return info;
      throw error;
    }
    const record = parseRecord(text);
    // A damaged record vouches for nothing: the object is treated as not verified.
    if (!record || record.version !== info.version || record.size !== info.size) return info;
    return { ...info, checksums: { ...info.checksums, sha256: record.sha256 } };
  }
}
