/**
 * The statistics on inputs no one tuned them on: every function ends on NaN, ±Infinity, empty and
 * one-row input, and matches references computed from first principles (pair counts, all
 * orderings of two samples) on vectors with ties and extremes at sizes 1, 7, 1,000 and 10,007.
 */
import { describe, expect, it } from 'vitest';
import { binomialCdf, clopperPearson, normalQuantile, pairedAucInterval, pairedErrorInterval } from '../../src/compare/intervals.js';
import {
  KS_ASYMPTOTIC_ERROR_BOUND,
  KS_EXACT_MAX_CELLS,
  kolmogorovSurvival,
  ksExactSurvival,
  ksTwoSample,
  mae,
  pairedDifferences,
  psi,
  relativeL2Difference,
  rmse,
  rocAuc,
  wasserstein1,
} from '../../src/compare/statistics.js';

const f64 = (xs: ArrayLike<number>) => Float64Array.from(xs);
/** A deterministic generator, so failures reproduce. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
/** Values with many ties and a few extremes. */
function sample(n: number, seed: number, shift = 0): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, (_, i) => (i % 97 === 0 ? (i % 2 ? 1e6 : -1e6) : Math.round((r() + shift) * 50) / 50));
}

describe('every statistic ends on any input', () => {
  const bad = [
    ['NaN', f64([0.1, Number.NaN, 0.3])],
    ['+Infinity', f64([0.1, Number.POSITIVE_INFINITY, 0.3])],
    ['-Infinity', f64([Number.NEGATIVE_INFINITY, 0.2, 0.3])],
    ['all NaN', f64([Number.NaN, Number.NaN, Number.NaN])],
    ['empty', f64([])],
    ['one row', f64([0.5])],
  ] as const;
  const good = f64([0.2, 0.4, 0.6]);
  it.each(bad)('%s', { timeout: 2000 }, (_, values) => {
    const other = values.length === good.length ? good : f64(Array.from(values, () => 0.5));
    const labels = f64(Array.from(values, (_, i) => i % 2));
    for (const result of [
      ksTwoSample(values, good).statistic,
      ksTwoSample(good, values).pvalue,
      wasserstein1(values, good),
      wasserstein1(good, values),
      psi(values, good),
      psi(good, values),
      rocAuc(labels, values),
      rmse(values, other),
      mae(other, values),
      relativeL2Difference(values, other),
      pairedDifferences(values, other).relative.mean,
    ]) {
      expect(typeof result).toBe('number');
    }
    if (values.length > 1 || values.some((v) => !Number.isFinite(v))) {
      // Defined only on finite input of two or more rows; NaN, never a made-up number.
      expect(wasserstein1(values, good)).toSatisfy((v: number) => Number.isNaN(v) || values.every(Number.isFinite));
    }
  });
});

/** KS D from first principles: |F_a(v) − F_b(v)| at every value, by counting. */
function ksBrute(a: Float64Array, b: Float64Array): number {
  let d = 0;
  for (const v of [...a, ...b]) {
    const fa = a.filter((x) => x <= v).length / a.length;
    const fb = b.filter((x) => x <= v).length / b.length;
    d = Math.max(d, Math.abs(fa - fb));
  }
  return d;
}

/** AUC from first principles: pairs ranked right, ties half. */
function aucBrute(labels: Float64Array, scores: Float64Array): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j] === 1) continue;
      pairs++;
      wins += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

/** P(D ≥ d) by walking every ordering of m x's and n y's. */
function ksPvalueByEnumeration(m: number, n: number, gap: number): number {
  let outside = 0;
  let total = 0;
  const walk = (i: number, j: number, hit: boolean) => {
    const now = hit || Math.abs(i * n - j * m) >= gap;
    if (i === m && j === n) {
      total++;
      if (now) outside++;
      return;
    }
    if (i < m) walk(i + 1, j, now);
    if (j < n) walk(i, j + 1, now);
  };
  walk(0, 0, false);
  return outside / total;
}

describe('against references from first principles', () => {
  it.each([1, 7, 1000, 10_007])('KS D, AUC, W1, RMSE at n = %i', { timeout: 20_000 }, (n) => {
    const a = sample(n, n);
    const b = sample(n, n + 1, 0.1);
    const exactD = n <= 1000 ? ksBrute(a, b) : undefined;
    const ks = ksTwoSample(a, b);
    if (exactD !== undefined) expect(Math.abs(ks.statistic - exactD)).toBeLessThanOrEqual(1e-9 * Math.max(exactD, 1e-300));
    // W1 of equal-size samples is the mean distance between matched order statistics.
    const sa = Float64Array.from(a).sort();
    const sb = Float64Array.from(b).sort();
    const w1 = sa.reduce((s, v, i) => s + Math.abs(v - sb[i]!), 0) / n;
    expect(Math.abs(wasserstein1(a, b) - w1)).toBeLessThanOrEqual(1e-9 * w1);
    if (n > 1 && n <= 1000) {
      const labels = f64(Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0)));
      expect(Math.abs(rocAuc(labels, a) - aucBrute(labels, a))).toBeLessThanOrEqual(1e-12);
    }
  });

  it('KS p-value exactly as all orderings give it, at small sizes', () => {
    for (const [m, n] of [[1, 1], [3, 4], [7, 7], [5, 8]] as const) {
      for (let gap = 1; gap <= m * n; gap++) {
        expect(Math.abs(ksExactSurvival(m, n, gap) - ksPvalueByEnumeration(m, n, gap))).toBeLessThan(1e-12);
      }
    }
    // The reported defect: at n = 7 the limiting form was 39 % off. Now exact: D = 5/7, p = 182/3432 (scipy: 0.05303).
    const x = f64([1, 2, 3, 4, 5, 6, 7]);
    const y = f64([5.5, 6.5, 7.5, 8, 9, 10, 11]);
    expect(ksTwoSample(x, y)).toMatchObject({ method: 'exact' });
    expect(ksTwoSample(x, y).pvalue).toBeCloseTo(182 / 3432, 12);
  });

  it(`KS limiting form is within ${KS_ASYMPTOTIC_ERROR_BOUND} of exact where it takes over (m·n just above ${KS_EXACT_MAX_CELLS})`, { timeout: 60_000 }, () => {
    const n = Math.ceil(Math.sqrt(KS_EXACT_MAX_CELLS)) + 1;
    const en = n / 2;
    for (const d of [0.005, 0.01, 0.015, 0.02, 0.025, 0.03]) {
      const gap = Math.round(d * n) * n;
      const lambda = (Math.sqrt(en) + 0.12 + 0.11 / Math.sqrt(en)) * (gap / (n * n));
      expect(Math.abs(kolmogorovSurvival(lambda) - ksExactSurvival(n, n, gap))).toBeLessThan(KS_ASYMPTOTIC_ERROR_BOUND);
    }
  });

  it('RMSE and MAE do not overflow near the float limit, and are unit-free when scaled', () => {
    const y = f64([1e300, -1e300, 1.5e308]);
    const yhat = f64([-1e300, 1e300, -1.5e308]);
    // Differences 2e300, −2e300, 3e308: √((4e600 + 4e600 + 9e616)/3) = √3 · 1e308, beyond what a plain sum of squares holds.
    expect(rmse(y, yhat) / (Math.sqrt(3) * 1e308)).toBeCloseTo(1, 12);
    expect(Number.isFinite(rmse(y, yhat))).toBe(true);
    expect(Number.isFinite(mae(y, yhat))).toBe(true);
    const base = f64([3, 4, 5]);
    const moved = f64([3.03, 4.04, 5.05]);
    for (const scale of [1e-300, 1e-7, 1, 1e7, 1e300]) {
      expect(relativeL2Difference(base.map((v) => v * scale), moved.map((v) => v * scale))).toBeCloseTo(0.01, 12);
    }
  });
});

describe('exact binomial intervals', () => {
  it('the tails match a direct sum and the interval covers as Clopper-Pearson does', () => {
    // Direct sum of the pmf with exact binomial coefficients at a small n.
    const n = 20;
    const choose = (k: number) => Array.from({ length: k }, (_, i) => (n - i) / (i + 1)).reduce((a, b) => a * b, 1);
    for (const p of [0.01, 0.3, 0.77]) {
      for (const k of [0, 3, 10, 19]) {
        let direct = 0;
        for (let i = 0; i <= k; i++) direct += choose(i) * p ** i * (1 - p) ** (n - i);
        expect(binomialCdf(k, n, p)).toBeCloseTo(direct, 12);
      }
    }
    // Known values: 0 of 10 → [0, 0.3085]; 2 of 2000 → upper 0.003604.
    expect(clopperPearson(0, 10)[1]).toBeCloseTo(0.30850, 4);
    expect(clopperPearson(2, 2000)[1]).toBeCloseTo(0.0036, 4);
    expect(clopperPearson(5, 5)).toEqual([expect.closeTo(0.4782, 3), 1]);
    // Not a count: no interval, rather than [1, 1] or one that looks right.
    for (const [k, n] of [[Number.NaN, 10], [2.5, 10], [-1, 10], [11, 10], [1, Number.NaN]]) expect(clopperPearson(k!, n!)).toEqual([Number.NaN, Number.NaN]);
    // A NaN score leaves the AUC's paired interval undefined, not ±0.98.
    expect(pairedAucInterval([true, true, false, false], [0.9, Number.NaN, 0.2, 0.1], [0.9, 0.8, 0.2, 0.1])).toEqual([Number.NaN, Number.NaN]);
  });
});

describe('paired intervals for AUC, RMSE and MAE', () => {
  it("DeLong's interval equals its definition computed pair by pair", () => {
    const r = rng(11);
    const n = 300;
    const positive = Array.from({ length: n }, (_, i) => i % 3 === 0);
    const a = Array.from({ length: n }, (_, i) => Math.round((r() + (positive[i] ? 0.3 : 0)) * 20) / 20);
    const b = a.map((v) => Math.round((v + (r() - 0.5) * 0.1) * 20) / 20);
    // Structural components straight from the definition, O(P·N).
    const psi = (x: number, y: number) => (x > y ? 1 : x === y ? 0.5 : 0);
    const P = positive.filter(Boolean).length;
    const N = n - P;
    const comps = (s: number[]) => ({
      v10: s.filter((_, i) => positive[i]).map((x) => s.filter((_, j) => !positive[j]).reduce((t, y) => t + psi(x, y), 0) / N),
      v01: s.filter((_, j) => !positive[j]).map((y) => s.filter((_, i) => positive[i]).reduce((t, x) => t + psi(x, y), 0) / P),
    });
    const ca = comps(a);
    const cb = comps(b);
    const mean = (v: number[]) => v.reduce((t, x) => t + x, 0) / v.length;
    const varDiff = (x: number[], y: number[]) => {
      const mx = mean(x);
      const my = mean(y);
      return x.reduce((t, _, k) => t + (x[k]! - mx - (y[k]! - my)) ** 2, 0) / (x.length - 1);
    };
    const delta = mean(cb.v10) - mean(ca.v10);
    const half = 1.959963984540054 * Math.sqrt(varDiff(cb.v10, ca.v10) / P + varDiff(cb.v01, ca.v01) / N);
    const [lo, hi] = pairedAucInterval(positive, a, b);
    expect(lo).toBeCloseTo(delta - half, 12);
    expect(hi).toBeCloseTo(delta + half, 12);
    expect(delta).toBeCloseTo(rocAuc(f64(positive.map(Number)), f64(b)) - rocAuc(f64(positive.map(Number)), f64(a)), 12);
  });

  it('RMSE and MAE intervals hold the estimate and do not depend on units', () => {
    const r = rng(5);
    const y = Array.from({ length: 500 }, () => r() * 100);
    const a = y.map((v) => v + (r() - 0.5) * 10);
    const b = a.map((v) => v * 1.01);
    const change = rmse(y, b) / rmse(y, a) - 1;
    const [lo, hi] = pairedErrorInterval('rmse', y, a, b);
    expect(lo).toBeLessThanOrEqual(change);
    expect(hi).toBeGreaterThanOrEqual(change);
    const scaled = pairedErrorInterval('rmse', y.map((v) => v * 1e-250), a.map((v) => v * 1e-250), b.map((v) => v * 1e-250));
    expect(scaled[0]).toBeCloseTo(lo, 10);
    const maeCi = pairedErrorInterval('mae', y, a, b);
    const maeChange = mae(y, b) / mae(y, a) - 1;
    expect(maeCi[0]).toBeLessThanOrEqual(maeChange);
    expect(maeCi[1]).toBeGreaterThanOrEqual(maeChange);
  });

  it('the normal quantile at known points', () => {
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 8);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306167813, 7);
  });
});
