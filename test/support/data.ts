import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

const CHUNK = 1 << 20;

/** Deterministic pseudo-random bytes (xorshift32), generated chunk by chunk, never held whole. */
export function* patternChunks(size: number, seed: number): Generator<Buffer> {
  let state = seed >>> 0 || 0x9e3779b9;
  for (let offset = 0; offset < size; offset += CHUNK) {
    const length = Math.min(CHUNK, size - offset);
    const words = new Uint32Array(Math.ceil(length / 4));
    for (let i = 0; i < words.length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      words[i] = state >>> 0;
    }
    yield Buffer.from(words.buffer, 0, length);
  }
}

export const patternStream = (size: number, seed: number): Readable => Readable.from(patternChunks(size, seed));

export const patternMd5 = (size: number, seed: number): string => patternDigest(size, seed, 'md5');
export const patternSha256 = (size: number, seed: number): string => patternDigest(size, seed, 'sha256');

function patternDigest(size: number, seed: number, algorithm: 'md5' | 'sha256'): string {
  const hash = createHash(algorithm);
  for (const chunk of patternChunks(size, seed)) hash.update(chunk);
  return hash.digest('hex');
}

export async function md5OfStream(stream: AsyncIterable<Buffer | string>): Promise<{ md5: string; size: number }> {
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    hash.update(buf);
    size += buf.length;
  }
  return { md5: hash.digest('hex'), size };
}

/** A bucket name no other test or run uses. */
export const uniqueBucket = (label: string): string => `cs-${label}-${randomBytes(4).toString('hex')}`;
