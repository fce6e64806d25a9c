import { type SourceDigest, StoreError } from './errors.js';
import type { ObjectInfo, ObjectStore, WriteResult } from './object-store.js';
import type { StreamedDigest } from './streaming.js';

/** Where the source stated an MD5, the words that say so in a mismatch's message. */
export const statedBySource = (sourceMd5: string | undefined): string => (sourceMd5 !== undefined ? ` (the source states ${sourceMd5})` : '');

export interface VerifyOptions {
  /** What the provider reported in the write's own response; without it the object is headed. */
  reported?: ObjectInfo;
  /** The MD5 the source states: the streamed MD5 must be it as well. */
  sourceMd5?: string;
  /**
   * The bytes were not hashed for their MD5 while they streamed: `streamed.md5` is the source's
   * stated one, and the MD5 the target computed of what it stored is theirs (a large upload to GCS).
   * @default false
   */
  md5ByTarget?: boolean;
}

/**
 * Checks an object just written against what was streamed. `matches` compares the provider's
 * own checksum (an ETag, a Content-MD5, an MD5 hash) with the streamed MD5. Where the source
 * stated an MD5, the streamed one must be it as well. An object that does not match is deleted.
 */
export async function verifyWrite(
  store: ObjectStore,
  key: string,
  streamed: StreamedDigest,
  matches: (stored: ObjectInfo) => boolean,
  options: VerifyOptions = {},
): Promise<WriteResult> {
  const { sourceMd5 } = options;
  const stored = options.reported ?? (await store.head(key));
  const intact = stored.size === streamed.size && matches(stored);
  if (!intact || (sourceMd5 !== undefined && streamed.md5 !== sourceMd5)) {
    // What was stored may carry metadata claiming the bytes we meant (the SHA-256, the source
    // version); gone, nothing can mistake it for a verified copy. The retry writes it again.
    await store.delete(key).catch(() => undefined);
    throw new StoreError(
      'ChecksumMismatch',
      { store: store.uri, operation: 'write', key },
      `streamed ${streamed.size} bytes with MD5 ${streamed.md5}${statedBySource(sourceMd5)}, store holds ${stored.size} bytes with ${JSON.stringify(stored.checksums)}`,
      { sourceDigest: sourceDigestOf(streamed, stored, intact, options) },
    );
  }
  return { key, size: streamed.size, md5: streamed.md5, sha256: streamed.sha256, stored };
}

/** Where the target holds what was read intact, yet it lacks the MD5 the source states: both. */
function sourceDigestOf(streamed: StreamedDigest, stored: ObjectInfo, intact: boolean, options: VerifyOptions): SourceDigest | undefined {
  const { sourceMd5 } = options;
  if (sourceMd5 === undefined || stored.size !== streamed.size) return undefined;
  const found = options.md5ByTarget ? stored.checksums.md5 : intact ? streamed.md5 : undefined;
  return found !== undefined && found !== sourceMd5 ? { stated: sourceMd5, found } : undefined;
}
