import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { ObjectDigest } from '../../src/clouds/digest-pool.js';
import { hashingParts, hashingTap } from '../../src/clouds/streaming.js';

const expected = (bytes: Buffer) => ({ size: bytes.length, md5: createHash('md5').update(bytes).digest('hex'), sha256: createHash('sha256').update(bytes).digest('hex') });

describe('the object digest, in place or on a thread', () => {
  it.each([0, 1, 4096, 1024 * 1024 - 1, 1024 * 1024, 5 * 1024 * 1024 + 17])('matches node:crypto for %i bytes in odd chunks', async (size) => {
    const bytes = randomBytes(size);
    const digest = new ObjectDigest();
    for (let at = 0; at < size; ) {
      const n = Math.min(size - at, 1 + ((at * 7919) % 200_000));
      digest.update(bytes.subarray(at, at + n));
      at += n;
    }
    expect(await digest.result()).toEqual(expected(bytes));
  });

  it.each([4096, 3 * 1024 * 1024 + 5])('without MD5, still gives the SHA-256 and size of %i bytes, and an empty MD5', async (size) => {
    const bytes = randomBytes(size);
    const { parts, result } = hashingParts(Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), undefined, { md5: false });
    for await (const _ of parts) void _;
    expect(await result()).toEqual({ ...expected(bytes), md5: '' });
  });

  it('keeps objects with and without MD5 apart on the same threads', async () => {
    const objects = Array.from({ length: 6 }, (_, i) => randomBytes(2 * 1024 * 1024 + i));
    const results = await Promise.all(
      objects.map(async (bytes, i) => {
        const { parts, result } = hashingParts(Readable.from([bytes]), undefined, { md5: i % 2 === 0 });
        for await (const _ of parts) void _;
        return result();
      }),
    );
    expect(results).toEqual(objects.map((bytes, i) => ({ ...expected(bytes), md5: i % 2 === 0 ? expected(bytes).md5 : '' })));
  });

  it('keeps many objects apart when they hash at once', async () => {
    const objects = Array.from({ length: 12 }, (_, i) => randomBytes(2 * 1024 * 1024 + i));
    const results = await Promise.all(
      objects.map(async (bytes) => {
        const { parts, result } = hashingParts(Readable.from([bytes.subarray(0, 700_000), bytes.subarray(700_000)]));
        for await (const _ of parts) void _;
        return result();
      }),
    );
    expect(results).toEqual(objects.map(expected));
  });

  it('hashes what flows through the tap, and leaves the bytes as they were', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    const { tap, result } = hashingTap();
    const out: Buffer[] = [];
    await pipeline(Readable.from([bytes]), tap, async function* (source) {
      for await (const c of source) out.push(c as Buffer);
    });
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
    expect(await result()).toEqual(expected(bytes));
  });
});
