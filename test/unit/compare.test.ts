/** src/compare against values computed independently with scipy and scikit-learn. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  agreement,
  kolmogorovSurvival,
  ksTwoSample,
  mae,
  pairedDifferences,
  quantileSorted,
  psi,
  rmse,
  rocAuc,
  wasserstein1,
} from '../../src/compare/statistics.js';

// Made by scripts/reference/compare_reference.py (numpy, scipy, scikit-learn).
const ref = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/compare-reference.json'), 'utf8'));
const f64 = (xs: number[]) => Float64Array.from(xs);

describe('distribution statistics against scipy', () => {
  it('KS statistic exactly, p-value within the documented bound', () => {
    const small = ksTwoSample(f64(ref.a), f64(ref.b));
    expect(small.statistic).toBeCloseTo(ref.ks.statistic, 12);
    expect(Math.abs(small.pvalue - ref.ks.pvalue) / ref.ks.pvalue).toBeLessThan(0.1);
    const big = ksTwoSample(f64(ref.ksBig.a), f64(ref.ksBig.b));
    expect(big.statistic).toBeCloseTo(ref.ksBig.statistic, 12);
    expect(Math.abs(big.pvalue - ref.ksBig.pvalue) / ref.ksBig.pvalue).toBeLessThan(0.1);
  });

  it('Kolmogorov survival at known points', () => {
    // Q(1.3581) = 0.05 and Q(1.6276) = 0.01: the classic critical values.
    expect(kolmogorovSurvival(1.3581)).toBeCloseTo(0.05, 4);
    expect(kolmogorovSurvival(1.6276)).toBeCloseTo(0.01, 4);
  });

  it('Wasserstein-1 exactly', () => {
    expect(wasserstein1(f64(ref.a), f64(ref.b))).toBeCloseTo(ref.wasserstein, 12);
    expect(wasserstein1(f64([0, 1, 3]), f64([5, 6, 8]))).toBeCloseTo(5, 12);
  });

  it('PSI as numpy computes it over reference deciles', () => {
    expect(psi(f64(ref.a), f64(ref.b))).toBeCloseTo(ref.psi, 12);
    expect(psi(f64(ref.a), f64(ref.a))).toBeCloseTo(0, 12);
  });
});

describe('holdout metrics against scikit-learn', () => {
  it('ROC AUC with ties, accuracy, RMSE, MAE', () => {
    expect(rocAuc(ref.labels, ref.scores)).toBeCloseTo(ref.auc, 12);
    expect(accuracy(ref.labels, (ref.scores as number[]).map((s) => (s >= 0.5 ? 1 : 0)))).toBeCloseTo(ref.accuracy, 12);
    expect(rmse(ref.y, ref.yhat)).toBeCloseTo(ref.rmse, 10);
    expect(mae(ref.y, ref.yhat)).toBeCloseTo(ref.mae, 10);
  });
});

describe('paired differences', () => {
  it('summarises absolute and relative differences with a CI around the mean', () => {
    const a = f64([1, 2, 4, 0]);
    const b = f64([1, 2.002, 3.996, 0]);
    const d = pairedDifferences(a, b);
    expect(d.absolute.max).toBeCloseTo(0.004, 12);
    expect(d.absolute.mean).toBeCloseTo(0.0015, 12);
    expect(d.relative.max).toBeCloseTo(0.001, 12);
    expect(d.relative.mean).toBeCloseTo((0.002 / 2.002 + 0.004 / 4) / 4, 12);
    expect(d.meanRelativeCi95[0]).toBeLessThan(d.relative.mean);
    expect(d.meanRelativeCi95[1]).toBeGreaterThan(d.relative.mean);
    expect(agreement([1, 0, 1, 1], [1, 0, 0, 1])).toBe(0.75);
  });

  it('takes the p99 by selection exactly as a sort would give it, ties and all', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (const [n, levels] of [[1, 0], [2, 0], [101, 0], [1000, 0], [5000, 3], [777, 1]] as const) {
      // `levels` > 0 makes few distinct values, so many rows tie (an identical model gives all zeros).
      const a = f64(Array.from({ length: n }, () => (levels ? Math.floor(random() * levels) : random())));
      const b = f64(Array.from({ length: n }, () => (levels ? Math.floor(random() * levels) : random())));
      const absolute = Float64Array.from(a, (v, i) => Math.abs(v - b[i]!)).sort();
      expect(pairedDifferences(a, b).absolute.p99, `n=${n}`).toBe(quantileSorted(absolute, 0.99));
      expect(pairedDifferences(a, b).absolute.max).toBe(absolute[n - 1]);
    }
  });

  it('refuses unpaired inputs', () => {
    expect(() => pairedDifferences(f64([1]), f64([1, 2]))).toThrow(/equal lengths/);
  });
});
