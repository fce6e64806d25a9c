/**
 * The hashing thread's side: whole-object MD5 and SHA-256, updated chunk by chunk for any number
 * of objects at once, each under the id its digest was opened with (see digest-pool.ts).
 */
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export type DigestRequest = { op: 'update'; id: number; data: ArrayBuffer; md5: boolean } | { op: 'end'; id: number } | { op: 'drop'; id: number };
export interface DigestReply {
  id: number;
  size: number;
  /** Empty where the object was opened without MD5. */
  md5: string;
  sha256: string;
}

const open = new Map<number, { md5: Hash | undefined; sha256: Hash; size: number }>();

parentPort?.on('message', (request: DigestRequest) => {
  if (request.op === 'drop') {
    open.delete(request.id);
    return;
  }
  let digest = open.get(request.id);
  if (!digest) {
    // An object's first message is an update: it says whether the MD5 is wanted.
    digest = { md5: request.op === 'update' && request.md5 ? createHash('md5') : undefined, sha256: createHash('sha256'), size: 0 };
    open.set(request.id, digest);
  }
  if (request.op === 'update') {
    const bytes = new Uint8Array(request.data);
    digest.md5?.update(bytes);
    digest.sha256.update(bytes);
    digest.size += bytes.length;
    return;
  }
  open.delete(request.id);
  parentPort!.postMessage({ id: request.id, size: digest.size, md5: digest.md5?.digest('hex') ?? '', sha256: digest.sha256.digest('hex') } satisfies DigestReply);
});
