/**
 * A source object that does not have the MD5 it states. Azure keeps a blob's Content-MD5 as the
 * uploader sent it (a block-list upload's is never checked against the bytes), so it can be stale;
 * bytes damaged at rest look the same. Retrying the copy cannot change either: after one second
 * read gives the same pair, the object fails for good, naming both digests.
 */
import { type SourceDigest, StoreError } from '../clouds/errors.js';
import { NonRetryableError } from '../errors.js';

export class SourceChecksumMismatch extends NonRetryableError {
  constructor(source: string, key: string, digest: SourceDigest, options?: { cause?: unknown }) {
    super(
      'SourceChecksumMismatch',
      `read ${source}/${key}: the source states MD5 ${digest.stated}, but its bytes, read twice, hash to ${digest.found}; not retried: ` +
        'its stated MD5 is stale (an Azure blob keeps the Content-MD5 its uploader sent; an S3-compatible store may answer an ETag that is no MD5) or its bytes are damaged at the source; ' +
        'nothing was kept at the target for it. Correct or re-upload the object, or leave it out with copy.exclude',
      { store: source, key, stated: digest.stated, found: digest.found },
      options,
    );
  }
}

/** Runs `transfer`, once more where the target found the read bytes lack the source's MD5; the same pair again is a SourceChecksumMismatch. */
export async function readTwiceOnSourceMismatch<T>(transfer: () => Promise<T>, source: { uri: string; key: string }): Promise<T> {
  let first: SourceDigest;
  try {
    return await transfer();
  } catch (error) {
    if (!(error instanceof StoreError && error.sourceDigest)) throw error;
    first = error.sourceDigest;
  }
  try {
    return await transfer();
  } catch (error) {
    const again = error instanceof StoreError ? error.sourceDigest : undefined;
    // A different pair means the object changed between the reads: the usual retries deal with it.
    if (again && again.stated === first.stated && again.found === first.found) throw new SourceChecksumMismatch(source.uri, source.key, again, { cause: error });
    throw error;
  }
}
