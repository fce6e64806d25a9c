/**
 * The on-prem store and what a careless tree holds: symbolic links are followed inside the bucket
 * and refused (named) elsewhere, never skipped without a word; its own records' folder is no
 * prefix; and work in flight settles before a failed batch reports (a cancelled copy stops writing
 * before its clean-up lists).
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { forEachLimited } from '../../src/activities/object-access.js';
import { acceptedKeys, keyFilter } from '../../src/copy/filters.js';
import { StoreError } from '../../src/clouds/errors.js';
import { LocalFsStore } from '../../src/clouds/local-store.js';
import { parseSpec } from '../../src/spec.js';

function bucketWith(build: (dir: string, outside: string) => void): LocalFsStore {
  const root = mkdtempSync(join(tmpdir(), 'cs-links-'));
  const dir = join(root, 'bkt');
  const outside = join(root, 'elsewhere');
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(dir, 'data', 'a.bin'), 'bytes of a');
  writeFileSync(join(outside, 'secret.bin'), 'not in the bucket');
  build(dir, outside);
  return new LocalFsStore(root, 'bkt');
}

describe('symbolic links in an on-prem bucket', () => {
  it('lists a link to a file inside the bucket as that file, and reads its bytes', async () => {
    const store = bucketWith((dir) => symlinkSync(join(dir, 'data', 'a.bin'), join(dir, 'data', 'b.bin')));
    const page = await store.list('data/');
    expect(page.objects.map((o) => [o.key, o.size])).toEqual([['data/a.bin', 10], ['data/b.bin', 10]]);
    expect(await text(await store.read('data/b.bin'))).toBe('bytes of a');
  });

  it.each([
    ['outside the bucket', (dir: string, outside: string) => symlinkSync(join(outside, 'secret.bin'), join(dir, 'data', 'x.bin')), /data\/x\.bin leads outside the bucket/],
    ['nowhere', (dir: string) => symlinkSync(join(dir, 'gone.bin'), join(dir, 'data', 'x.bin')), /data\/x\.bin leads nowhere/],
    ['to a folder', (dir: string) => symlinkSync(join(dir, 'data'), join(dir, 'data', 'loop')), /data\/loop leads to a folder/],
  ] as const)('refuses a link that leads %s, naming it, not retried', async (_label, build, message) => {
    const store = bucketWith(build);
    const error = await store.list('data/').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ kind: 'InvalidRequest', retryable: false, key: expect.stringMatching(/^data\//) });
    expect((error as Error).message).toMatch(message);
  });
});

describe("the on-prem store's own folder", () => {
  it('is refused as a prefix, naming the field', () => {
    const parsed = parseSpec({ name: 'm', source: { cloud: 'onprem', profile: 'fs', bucket: 'bkt', prefix: '.cloudshift-meta/x' }, target: { cloud: 'aws', profile: 'p', bucket: 'dst' } });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.issues).toEqual([{ field: 'source.prefix', message: expect.stringMatching(/outside \.cloudshift-meta\//) }]);
  });
});

describe('forEachLimited', () => {
  it('settles only once the work in flight has, then reports the first failure', async () => {
    const finished: number[] = [];
    const failure = forEachLimited([0, 1, 2, 3], 4, async (i) => {
      if (i === 0) throw new Error('cancelled');
      await new Promise((resolve) => setTimeout(resolve, 50 * i));
      finished.push(i);
    });
    await expect(failure).rejects.toThrow('cancelled');
    expect(finished.sort()).toEqual([1, 2, 3]);
  });
});

describe('filtering a page by globs', () => {
  it('gives the event loop back while the globs at their limit cost milliseconds a key', async () => {
    const accept = keyFilter(Array.from({ length: 8 }, () => '*a'.repeat(128)), []);
    const keys = Array.from({ length: 40 }, (_, i) => `${'a'.repeat(1000)}${i}b`);
    let longestGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 1);
    const kept = await acceptedKeys(keys, accept, (k) => k);
    clearInterval(timer);
    expect(kept).toEqual([]);
    // One key's matching is the longest the loop waits, not the page's.
    expect(longestGap).toBeLessThan(250);
  });

  it('refuses more glob characters in all than the limit, naming the field', () => {
    const parsed = parseSpec({ name: 'm', source: { cloud: 'aws', profile: 'p', bucket: 'src' }, target: { cloud: 'gcp', profile: 'p', bucket: 'dst' }, copy: { include: Array.from({ length: 9 }, () => 'x'.repeat(250)) } });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.issues).toEqual([{ field: 'copy.include', message: expect.stringMatching(/at most 2048 characters of globs in include and exclude together, got 2250/) }]);
  });
});
