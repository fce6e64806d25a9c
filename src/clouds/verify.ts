import { StoreError } from './errors.js';
import type { ObjectInfo, ObjectStore, WriteResult } from './object-store.js';

/**
 * Heads an object just written and checks it against what was streamed. `matches` compares the
 * provider's own checksum (an ETag, a Content-MD5, an MD5 hash) with the streamed MD5.
 */
export async function verifyWrite(
  store: ObjectStore,
  key: string,
  streamed: { size: number; md5: string; sha256: string },
  matches: (stored: ObjectInfo) => boolean,
): Promise<WriteResult> {
  const stored = await store.head(key);
  if (stored.size !== streamed.size || !matches(stored)) {
    throw new StoreError(
      'ChecksumMismatch',
      { store: store.uri, operation: 'write', key },
      `streamed ${streamed.size} bytes with MD5 ${streamed.md5}, store holds ${stored.size} bytes with ${JSON.stringify(stored.checksums)}`,
    );
  }
  return { key, size: streamed.size, md5: streamed.md5, sha256: streamed.sha256, stored: { ...stored, checksums: { ...stored.checksums, sha256: streamed.sha256 } } };
}
