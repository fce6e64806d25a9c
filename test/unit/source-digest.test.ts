/**
 * A source whose bytes lack the MD5 it states: read once more, then failed for good naming both
 * digests, where the same pair comes back; any other failure is left to the usual retries.
 */
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/clouds/errors.js';
import { readTwiceOnSourceMismatch, SourceChecksumMismatch } from '../../src/copy/source-digest.js';
import { isNonRetryableType } from '../../src/error-types.js';

const where = { uri: 'azure://models', key: 'data/part-1.bin' };
const mismatch = (found: string, stated = 'a'.repeat(32)) =>
  new StoreError('ChecksumMismatch', { store: 'gs://t', operation: 'write', key: 'x' }, 'differs', { sourceDigest: { stated, found } });

function attempts(...outcomes: (Error | string)[]) {
  let calls = 0;
  const run = async () => {
    const next = outcomes[calls++];
    if (next instanceof Error) throw next;
    return next;
  };
  return { run, calls: () => calls };
}

describe('a source whose bytes lack the MD5 it states', () => {
  it('fails for good, naming the object and both digests, when a second read gives the same pair', async () => {
    const t = attempts(mismatch('b'.repeat(32)), mismatch('b'.repeat(32)));
    const error = await readTwiceOnSourceMismatch(t.run, where).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SourceChecksumMismatch);
    expect((error as SourceChecksumMismatch).type).toBe('SourceChecksumMismatch');
    expect(isNonRetryableType('SourceChecksumMismatch')).toBe(true);
    expect((error as Error).message).toMatch(/^read azure:\/\/models\/data\/part-1\.bin: the source states MD5 a{32}, but its bytes, read twice, hash to b{32}; not retried: .*copy\.exclude$/);
    expect(t.calls()).toBe(2);
  });

  it('goes on when the second read is right (the object changed between them)', async () => {
    const t = attempts(mismatch('b'.repeat(32)), 'written');
    expect(await readTwiceOnSourceMismatch(t.run, where)).toBe('written');
  });

  it('leaves a different pair the second time to the usual retries', async () => {
    const second = mismatch('c'.repeat(32));
    const t = attempts(mismatch('b'.repeat(32)), second);
    expect(await readTwiceOnSourceMismatch(t.run, where).catch((e: unknown) => e)).toBe(second);
  });

  it('does not read again on any other failure, a target-side mismatch included', async () => {
    const targetSide = new StoreError('ChecksumMismatch', { store: 'gs://t', operation: 'write', key: 'x' }, 'the target stored other bytes');
    const t = attempts(targetSide, 'never');
    expect(await readTwiceOnSourceMismatch(t.run, where).catch((e: unknown) => e)).toBe(targetSide);
    expect(t.calls()).toBe(1);
  });
});
