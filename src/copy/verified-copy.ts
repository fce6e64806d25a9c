/**
 * When the target holds a verified copy of a source object, said once. Two levels: what the
 * copy's skip rule and the verify pass trust (the target object records the source version it was
 * copied from and the SHA-256 of the bytes sent), and what retiring the source demands on top:
 * proof from the bytes the target holds now. Metadata survives a rewrite of the bytes under it
 * (an S3, GCS or Azure object rewritten with its metadata kept, a file bit-rotted with its mtime
 * unchanged): teardown deleted 25 source objects on a label alone.
 */
import type { ObjectInfo, ObjectStore } from '../clouds/object-store.js';
import { SOURCE_VERSION_METADATA_KEY } from '../clouds/object-store.js';
import { hashingTap } from '../clouds/streaming.js';

/** The target object, as listed or headed (with its recorded SHA-256 resolved), records this very source version. */
export function isVerifiedCopy(stored: ObjectInfo | undefined, source: { size: number; version: string }): stored is ObjectInfo & { checksums: { sha256: string } } {
  return stored !== undefined && stored.size === source.size && stored.metadata?.[SOURCE_VERSION_METADATA_KEY] === source.version && typeof stored.checksums.sha256 === 'string' && stored.checksums.sha256 !== '';
}

/** Why the target's bytes are not the recorded ones, or undefined when they are. */
export async function bytesDiffer(target: ObjectStore, stored: ObjectInfo & { checksums: { sha256: string } }): Promise<string | undefined> {
  // S3 computed this over the bytes it stores (its full-object checksum): no read needed.
  if (stored.checksums.providerSha256) {
    return stored.checksums.providerSha256 === stored.checksums.sha256 ? undefined : `the store's own SHA-256 of ${stored.key} is not the one recorded when it was copied`;
  }
  const { tap, result } = hashingTap();
  for await (const _ of (await target.read(stored.key)).pipe(tap)) void _;
  const now = await result();
  if (now.size !== stored.size) return `${stored.key} holds ${now.size} bytes, ${stored.size} were copied`;
  return now.sha256 === stored.checksums.sha256 ? undefined : `the bytes of ${stored.key} no longer hash to the SHA-256 recorded when they were copied (rewritten or damaged since)`;
}
