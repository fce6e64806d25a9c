import { createHash } from 'node:crypto';
import { ObjectDigest, type StreamedDigest } from './digest-pool.js';
import { type Readable, Transform } from 'node:stream';

export type { StreamedDigest } from './digest-pool.js';

/** Streams not in object mode hand out Buffers, unless an encoding was set. */
const asBuffer = (chunk: Buffer | string): Buffer => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk);

/**
 * Cuts a stream into parts of exactly `partSize` bytes (the last may be shorter, and an empty
 * stream yields one empty part, so every object has at least one part to upload).
 */
export async function* readParts(body: Readable, partSize: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let yielded = false;
  for await (const chunk of body as AsyncIterable<Buffer | string>) {
    let buf = asBuffer(chunk);
    while (pendingBytes + buf.length >= partSize) {
      const take = partSize - pendingBytes;
      pending.push(buf.subarray(0, take));
      buf = buf.subarray(take);
      yield Buffer.concat(pending, partSize);
      yielded = true;
      pending = [];
      pendingBytes = 0;
    }
    if (buf.length > 0) {
      pending.push(buf);
      pendingBytes += buf.length;
    }
  }
  if (pendingBytes > 0 || !yielded) yield Buffer.concat(pending, pendingBytes);
}

export interface Part {
  /** 1-based, as S3 numbers parts. */
  number: number;
  body: Buffer;
  /** MD5 of this part, base64, as Content-MD5 headers want it. */
  md5Base64: string;
}

export interface PartedUpload<R> extends StreamedDigest {
  results: R[];
  partMd5s: Buffer[];
}

/**
 * Uploads the parts of a stream with at most `concurrency` in flight. The next part is read only
 * when a slot frees, so memory stays near (concurrency + 1) × partSize whatever the object size.
 * Also computes the whole-object MD5 while the bytes pass.
 */
export async function uploadInParts<R>(
  parts: AsyncIterable<Buffer>,
  concurrency: number,
  upload: (part: Part) => Promise<R>,
): Promise<PartedUpload<R>> {
  const digest = new ObjectDigest();
  const results: R[] = [];
  const partMd5s: Buffer[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let number = 0;
  for await (const body of parts) {
    if (failure) break;
    number++;
    digest.update(body);
    const partMd5 = createHash('md5').update(body).digest();
    partMd5s.push(partMd5);
    const index = number - 1;
    const task: Promise<void> = upload({ number, body, md5Base64: partMd5.toString('base64') }).then(
      (r) => {
        results[index] = r;
      },
      (e: unknown) => {
        failure ??= e;
      },
    );
    const tracked = task.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) {
    digest.drop();
    throw failure;
  }
  return { results, ...(await digest.result()), partMd5s };
}

/** The ETag S3 gives a multipart object: MD5 of the concatenated part MD5s, then `-N`. */
export function multipartEtag(partMd5s: readonly Buffer[]): string {
  return `${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-${partMd5s.length}`;
}

/** Reads the first part; tells whether the whole object fits in it (a single-request upload). */
export async function firstPart(
  parts: AsyncGenerator<Buffer>,
): Promise<{ first: Buffer; rest: AsyncGenerator<Buffer> | undefined }> {
  const first = await parts.next();
  const firstBody = first.done ? Buffer.alloc(0) : first.value;
  const second = await parts.next();
  if (second.done) return { first: firstBody, rest: undefined };
  async function* chained(): AsyncGenerator<Buffer> {
    yield firstBody;
    yield second.value as Buffer;
    yield* parts;
  }
  return { first: firstBody, rest: chained() };
}

export const stripQuotes = (etag: string | undefined): string | undefined => etag?.replace(/^"|"$/g, '');

export const md5Hex = (data: Buffer): string => createHash('md5').update(data).digest('hex');
export const sha256Hex = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/**
 * Reads at most `limit` bytes (and one chunk more): the whole object when it is that small, else a
 * stream of all of it, in the source's own chunks.
 */
export async function startOf(body: Readable, limit: number): Promise<{ whole: Buffer } | { stream: AsyncGenerator<Buffer> }> {
  const chunks = (body as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let size = 0;
  while (size <= limit) {
    const next = await chunks.next();
    if (next.done) return { whole: Buffer.concat(head, size) };
    const chunk = asBuffer(next.value);
    head.push(chunk);
    size += chunk.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* head;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield asBuffer(next.value);
  }
  return { stream: all() };
}

/**
 * Hashes (MD5 and SHA-256) and counts the parts as they are consumed, off the event loop for a
 * large object; `result` resolves once every part has been hashed.
 */
export function hashingParts(
  source: AsyncIterable<Buffer>,
  onEnd?: () => void,
  hashes: { md5?: boolean } = {},
): { parts: AsyncGenerator<Buffer>; result: () => Promise<StreamedDigest> } {
  const digest = new ObjectDigest(hashes);
  let finished = false;
  async function* parts(): AsyncGenerator<Buffer> {
    try {
      for await (const part of source) {
        digest.update(part);
        yield part;
      }
      finished = true;
      onEnd?.();
    } finally {
      if (!finished) digest.drop();
    }
  }
  return { parts: parts(), result: () => digest.result() };
}

/** A pass-through that hashes (MD5 and SHA-256) and counts what flows through it (see hashingParts). */
export function hashingTap(): { tap: Transform; result: () => Promise<StreamedDigest> } {
  const digest = new ObjectDigest();
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      digest.update(chunk);
      done(null, chunk);
    },
    destroy(error, done) {
      if (error) digest.drop();
      done(error);
    },
  });
  return { tap, result: () => digest.result() };
}
