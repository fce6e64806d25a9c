/** The sample-ratio check against exact references, at its boundaries and on hostile counts. */
import { describe, expect, it } from 'vitest';
import { SAMPLE_RATIO_LEVEL, sampleRatio } from '../../src/traffic/sample-ratio.js';

describe('the sample-ratio check', () => {
  it('matches the doubled-tail exact binomial p-value (scipy.stats.binom: 2·min(cdf(t), sf(t − 1)))', () => {
    const references: [number, number, number, number][] = [
      [940, 60, 10, 8.757639805725569e-6],
      [760, 240, 25, 0.4898189595083766],
      [700, 300, 25, 0.0003871806438981516],
    ];
    for (const [source, target, percent, p] of references) expect(sampleRatio(source, target, percent)!.p / p).toBeCloseTo(1, 6);
    expect(sampleRatio(90, 10, 10)!.p).toBeCloseTo(1, 6);
    expect(sampleRatio(940, 60, 10)).toMatchObject({ observed: 0.06, mismatch: true });
  });

  it('passes a split within chance and fails one far outside it, at the stated level', () => {
    expect(sampleRatio(760, 240, 25)!.mismatch).toBe(false);
    expect(sampleRatio(700, 300, 25)!.p).toBeLessThan(SAMPLE_RATIO_LEVEL);
    // DNS that a resolver caches: all of one client's requests on the source at a 50 % step.
    expect(sampleRatio(400, 0, 50)).toMatchObject({ mismatch: true, observed: 0 });
  });

  it('does not apply where it cannot say anything', () => {
    expect(sampleRatio(99, 0, 50)).toBeUndefined(); // too few requests
    expect(sampleRatio(0, 500, 100)).toBeUndefined(); // the weights leave the source empty
    expect(sampleRatio(500, 0, 0)).toBeUndefined();
    expect(sampleRatio(Number.NaN, 100, 50)).toBeUndefined();
    expect(sampleRatio(-1, 200, 50)).toBeUndefined();
    expect(sampleRatio(100.5, 100, 50)).toBeUndefined();
  });
});
