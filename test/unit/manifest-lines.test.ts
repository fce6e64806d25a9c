import { describe, expect, it } from 'vitest';
import { parseManifestLines } from '../../src/activities/copy-data.js';

const good = { key: 'd/a', targetKey: 't/a', size: 3, sha256: 'ab', sourceVersion: 'v1' };

describe('a manifest part as the catch-up reads it', () => {
  it('keeps the lines of ours and leaves out anything else, so those objects are copied again rather than trusted', () => {
    const body = [
      JSON.stringify(good),
      '{"key":"d/b","targetKey":"t/b","size":4', // cut short
      JSON.stringify({ ...good, key: 'd/c', size: '3' }), // size not a number
      'null',
      JSON.stringify({ ...good, key: 'd/d', sha256: undefined }),
      '',
      JSON.stringify({ ...good, key: 'd/e' }),
    ].join('\n');
    expect(parseManifestLines(body).map((l) => l.key)).toEqual(['d/a', 'd/e']);
    expect(parseManifestLines('')).toEqual([]);
  });
});
