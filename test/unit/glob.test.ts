/** Globs match as they always did, and in linear time whatever the glob. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyFilter } from '../../src/copy/filters.js';
import { compileGlob } from '../../src/copy/glob.js';

/** The semantics the project documented, as a (backtracking) regular expression: the reference. */
function reference(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      let j = i;
      while (glob[j] === '*') j++;
      const slash = glob[j] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i = slash ? j : j - 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

describe('glob matching', () => {
  it.each([
    ['*.csv', 'a.csv', true],
    ['*.csv', 'dir/a.csv', false],
    ['**/*.csv', 'a.csv', true],
    ['**/*.csv', 'x/y/a.csv', true],
    ['data/**', 'data/x/y', true],
    ['data/**', 'datax/y', false],
    ['?.bin', 'a.bin', true],
    ['?.bin', '/.bin', false],
    ['a***b', 'a/x/b', true],
    ['model/[1].onnx', 'model/[1].onnx', true],
    ['', '', true],
  ])('%s against %s', (glob, key, expected) => {
    expect(compileGlob(glob).test(key)).toBe(expected);
  });

  it('agrees with the documented semantics on generated globs and keys', () => {
    const alphabet = fc.constantFrom('a', 'b', '/', '*', '?', '.');
    const keyAlphabet = fc.constantFrom('a', 'b', '/', '.', '*', '?');
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 12 }), fc.string({ unit: keyAlphabet, maxLength: 16 }), (glob, key) => {
        expect(compileGlob(glob).test(key)).toBe(reference(glob).test(key));
      }),
      { numRuns: 5000 },
    );
  });

  it('takes linear time on the patterns that made the regular expressions backtrack', () => {
    // 30 stars between literals against a 64-character key that almost matches: the old regex took over a minute.
    const adversarial = ['*a'.repeat(15) + 'b', '**/'.repeat(10) + 'x', 'a*'.repeat(100) + 'b', '**a'.repeat(80) + 'z'];
    const key = 'a'.repeat(64);
    const longKey = 'a/'.repeat(500);
    const started = performance.now();
    for (const glob of adversarial) {
      expect(compileGlob(glob).test(key)).toBe(false);
      expect(compileGlob(glob).test(longKey)).toBe(false);
    }
    // A generous bound: each of these is (key length × glob length) ≈ 10⁵–10⁶ steps, milliseconds.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('never copies cloudshift’s own folder', () => {
    const accept = keyFilter(['**'], []);
    expect(accept('.cloudshift/m/manifest/part-000000.jsonl')).toBe(false);
    expect(accept('data/x')).toBe(true);
  });
});
