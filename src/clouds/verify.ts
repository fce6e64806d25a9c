import { StoreError } from './errors.js';
import type { ObjectInfo, ObjectStore, WriteResult } from './object-store.js';
import type { StreamedDigest } from './streaming.js';

/** Where the source stated an MD5, the words that say so in a mismatch's message. */
export const statedBySource = (sourceMd5: string | undefined): string => (sourceMd5 !== undefined ? ` (the source states ${sourceMd5})` : '');

/**
 * Checks an object just written against what was streamed. `matches` compares the provider's
 * own checksum (an ETag, a Content-MD5, an MD5 hash) with the streamed MD5. What the provider
 * reported in the write's own response is used when given; otherwise the object is headed. Where
 * the source stated an MD5 (`sourceMd5`), the streamed one must be it as well. An object that
 * does not match is deleted.
 */
export async function verifyWrite(
  store: ObjectStore,
  key: string,
  streamed: StreamedDigest,
  matches: (stored: ObjectInfo) => boolean,
  reported?: ObjectInfo,
  sourceMd5?: string,
): Promise<WriteResult> {
  const stored = reported ?? (await store.head(key));
  if (stored.size !== streamed.size || !matches(stored) || (sourceMd5 !== undefined && streamed.md5 !== sourceMd5)) {
    // What was stored may carry metadata claiming the bytes we meant (the SHA-256, the source
    // version); gone, nothing can mistake it for a verified copy. The retry writes it again.
    await store.delete(key).catch(() => undefined);
    throw new StoreError(
      'ChecksumMismatch',
      { store: store.uri, operation: 'write', key },
      `streamed ${streamed.size} bytes with MD5 ${streamed.md5}${statedBySource(sourceMd5)}, store holds ${stored.size} bytes with ${JSON.stringify(stored.checksums)}`,
    );
  }
  return { key, size: streamed.size, md5: streamed.md5, sha256: streamed.sha256, stored };
}
