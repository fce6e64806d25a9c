import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { firstPart, multipartEtag, readParts, uploadInParts } from '../../src/clouds/streaming.js';

const collect = async (parts: AsyncIterable<Buffer>) => {
  const out: Buffer[] = [];
  for await (const p of parts) out.push(p);
  return out;
};
const chunked = (sizes: number[]) => Readable.from(sizes.map((n, i) => Buffer.alloc(n, i + 1)));

describe('readParts', () => {
  it('cuts any chunking into exact part sizes, the last shorter', async () => {
    const parts = await collect(readParts(chunked([3, 10, 1, 7]), 5));
    expect(parts.map((p) => p.length)).toEqual([5, 5, 5, 5, 1]);
    expect(Buffer.concat(parts)).toEqual(Buffer.concat([3, 10, 1, 7].map((n, i) => Buffer.alloc(n, i + 1))));
  });

  it('yields one empty part for an empty stream, and no empty tail after an exact fit', async () => {
    expect((await collect(readParts(chunked([]), 5))).map((p) => p.length)).toEqual([0]);
    expect((await collect(readParts(chunked([10]), 5))).map((p) => p.length)).toEqual([5, 5]);
  });
});

describe('firstPart', () => {
  it('tells a single-part object from a multipart one without losing bytes', async () => {
    expect((await firstPart(readParts(chunked([4]), 5))).rest).toBeUndefined();
    const { first, rest } = await firstPart(readParts(chunked([12]), 5));
    expect(first.length).toBe(5);
    expect((await collect(rest!)).map((p) => p.length)).toEqual([5, 5, 2]);
  });
});

describe('uploadInParts', () => {
  it('keeps at most `concurrency` parts in flight and returns results in part order', async () => {
    let inFlight = 0;
    let peak = 0;
    const result = await uploadInParts(readParts(chunked([50]), 4), 3, async (part) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 13 - part.number)); // later parts finish first
      inFlight--;
      return part.number;
    });
    expect(peak).toBe(3);
    expect(result.results).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(result.size).toBe(50);
    expect(result.md5).toBe(createHash('md5').update(Buffer.alloc(50, 1)).digest('hex'));
  });

  it('stops reading and rethrows when a part fails', async () => {
    let uploaded = 0;
    await expect(
      uploadInParts(readParts(chunked([100]), 1), 2, async (part) => {
        if (part.number === 3) throw new Error('part 3 refused');
        uploaded++;
        return part.number;
      }),
    ).rejects.toThrow('part 3 refused');
    expect(uploaded).toBeLessThan(10);
  });
});

describe('multipartEtag', () => {
  it('matches the MD5-of-MD5s form S3 gives multipart objects', () => {
    const parts = [Buffer.from('hello '), Buffer.from('world')].map((b) => createHash('md5').update(b).digest());
    const expected = createHash('md5').update(Buffer.concat(parts)).digest('hex');
    expect(multipartEtag(parts)).toBe(`${expected}-2`);
  });
});
