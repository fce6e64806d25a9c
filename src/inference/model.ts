/** A model artifact read from a store, whole (ONNX Runtime loads it whole anyway), and checked. */
import { NonRetryableError } from '../errors.js';
import { createHash } from 'node:crypto';
import type { ObjectStore } from '../clouds/object-store.js';

export class ModelChecksumMismatch extends NonRetryableError {
  constructor(message: string, context: NonRetryableError['context'] = {}) {
    super('ModelChecksumMismatch', message, context);
  }
}

export interface LoadedModel {
  bytes: Buffer;
  sha256: string;
}

/**
 * Reads the model; when `expectedSha256` is given, a model that does not hash to it is refused
 * (`recordedBy` names where the expected digest comes from, for the message).
 */
export async function loadModel(store: ObjectStore, key: string, expectedSha256?: string, recordedBy = 'the copy manifest'): Promise<LoadedModel> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.read(key)) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (expectedSha256 && sha256 !== expectedSha256) {
    throw new ModelChecksumMismatch(
      `the model ${store.uri}/${key} hashes to SHA-256 ${sha256}, but ${recordedBy} records ${expectedSha256}: it was changed or corrupted after the copy. Re-run the copy (or restore the model) before using it.`,
    );
  }
  return { bytes, sha256 };
}
