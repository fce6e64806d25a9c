/**
 * Pure statistics for the shadow comparison. No I/O: arrays in, numbers out. Everything here is
 * exact except the KS p-value for large samples (see ksTwoSample).
 *
 * Every function terminates on any input: one given a non-finite value returns NaN (a sort or
 * merge loop that compares against NaN would never advance), and the report counts non-finite
 * values itself and turns them into a failed criterion before it asks for any statistic.
 */

/** Whether every value is a finite number. */
export function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  return true;
}

export interface Summary {
  max: number;
  mean: number;
  p99: number;
}

/** Value at quantile q of sorted data, linear between order statistics (numpy's default). */
export function quantileSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

/** Max, mean and p99 of `values`, which it reorders (a selection instead of a sort: O(n)). */
function summarize(values: Float64Array): Summary {
  if (values.length === 0) return { max: 0, mean: 0, p99: Number.NaN };
  let sum = 0;
  let max = -Infinity;
  for (const v of values) {
    sum += v;
    if (v > max || Number.isNaN(v)) max = v;
  }
  return { max, mean: sum / values.length, p99: quantileInPlace(values, 0.99) };
}

/** quantileSorted's value without sorting: the two order statistics around q, selected. */
function quantileInPlace(values: Float64Array, q: number): number {
  const position = (values.length - 1) * q;
  const lower = Math.floor(position);
  const below = select(values, lower);
  if (lower + 1 >= values.length) return below;
  // select leaves everything after `lower` no smaller than it: the next order statistic is their minimum.
  let above = Infinity;
  for (let i = lower + 1; i < values.length; i++) if (values[i]! < above) above = values[i]!;
  return below + (above - below) * (position - lower);
}

/** The k-th smallest of `values` (from 0), partitioning it in place around it (Hoare's selection). */
function select(values: Float64Array, k: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const pivot = values[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (values[i]! < pivot) i++;
      while (values[j]! > pivot) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i++] = values[j]!;
        values[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return values[k]!;
}

export interface PairedDifferences {
  n: number;
  absolute: Summary;
  relative: Summary;
  /** 95 % confidence interval of the mean relative difference (normal approximation). */
  meanRelativeCi95: [number, number];
}

/**
 * Row-by-row differences between source (a) and target (b) predictions. The relative difference
 * divides by the larger magnitude of the pair, floored at `floor` (default 1e-3). The floor is
 * there because of float32: ONNX classifiers give the positive probability as 1 − p₀, quantised in
 * steps of 6e-8 near zero, so a score of 1.2e-7 against 1.8e-7 is rounding, not a changed model —
 * measured on the shipped breast-cancer model with weights perturbed by 1e-6, a 1e-6 floor made the
 * mean relative difference 0.0016 from such rows alone.
 */
export function pairedDifferences(a: Float64Array, b: Float64Array, floor = 1e-3): PairedDifferences {
  if (a.length !== b.length) throw new Error(`paired comparison needs equal lengths, got ${a.length} and ${b.length}`);
  const absolute = new Float64Array(a.length);
  const relative = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    absolute[i] = d;
    relative[i] = d / Math.max(Math.abs(a[i]!), Math.abs(b[i]!), floor);
  }
  const rel = summarize(relative);
  let squares = 0;
  for (const r of relative) squares += (r - rel.mean) ** 2;
  const sd = a.length > 1 ? Math.sqrt(squares / (a.length - 1)) : 0;
  const half = a.length > 0 ? (1.959963984540054 * sd) / Math.sqrt(a.length) : 0;
  return { n: a.length, absolute: summarize(absolute), relative: rel, meanRelativeCi95: [rel.mean - half, rel.mean + half] };
}

export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error('agreement needs equal lengths');
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return a.length ? same / a.length : 1;
}

export const accuracy = agreement;

/**
 * Area under the ROC curve from ranks (Mann-Whitney U), ties given their average rank. Two typed
 * sorts (all scores, the positives' scores) and a merge: no comparator calls, which dominate a
 * million-row sort.
 */
export function rocAuc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const n = labels.length;
  if (n !== scores.length || !allFinite(scores)) return Number.NaN;
  const all = scores instanceof Float64Array ? sortedCopy(scores) : Float64Array.from(scores).sort();
  let positives = 0;
  for (let i = 0; i < n; i++) if (labels[i] === 1) positives++;
  const positive = new Float64Array(positives);
  for (let i = 0, k = 0; i < n; i++) if (labels[i] === 1) positive[k++] = scores[i]!;
  positive.sort();
  let rankSum = 0;
  let i = 0;
  for (let k = 0; k < positive.length; ) {
    const value = positive[k]!;
    while (all[i]! < value) i++;
    let j = i;
    while (j + 1 < n && all[j + 1] === value) j++;
    let m = k;
    while (m < positive.length && positive[m] === value) m++;
    rankSum += ((i + j) / 2 + 1) * (m - k);
    k = m;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return Number.NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** The largest magnitude in either array; values are divided by it so no square or difference overflows. */
function magnitude(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!), Math.abs(b[i]!));
  return m;
}

/**
 * √(Σ(y − ŷ)²/n), computed on values divided by the largest magnitude first: a plain sum of
 * squares overflows to Infinity once values pass ~1e154, and a difference of two values near the
 * float limit overflows too. NaN on empty, unequal or non-finite input.
 */
export function rmse(y: ArrayLike<number>, yhat: ArrayLike<number>): number {
  if (y.length === 0 || y.length !== yhat.length || !allFinite(y) || !allFinite(yhat)) return Number.NaN;
  const scale = magnitude(y, yhat);
  if (scale === 0) return 0;
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i]! / scale - yhat[i]! / scale) ** 2;
  return scale * Math.sqrt(s / y.length);
}

/** Σ|y − ŷ|/n, scaled as rmse is so it cannot overflow. */
export function mae(y: ArrayLike<number>, yhat: ArrayLike<number>): number {
  if (y.length === 0 || y.length !== yhat.length || !allFinite(y) || !allFinite(yhat)) return Number.NaN;
  const scale = magnitude(y, yhat);
  if (scale === 0) return 0;
  let s = 0;
  for (let i = 0; i < y.length; i++) s += Math.abs(y[i]! / scale - yhat[i]! / scale);
  return scale * (s / y.length);
}

/**
 * ‖a − b‖₂ / ‖a‖₂: how far the target's predictions are from the source's, relative to the size of
 * the source's. It does not depend on the label's units (scale both by any c > 0 and it is the
 * same), unlike a per-row relative difference floored at an absolute value. 0 when both are zero,
 * Infinity when only the source's are; NaN on non-finite input.
 */
export function relativeL2Difference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || !allFinite(a) || !allFinite(b)) return Number.NaN;
  const scale = magnitude(a, b);
  if (scale === 0) return 0;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! / scale;
    num += (x - b[i]! / scale) ** 2;
    den += x * x;
  }
  if (den === 0) return num === 0 ? 0 : Number.POSITIVE_INFINITY;
  return Math.sqrt(num / den);
}

/**
 * Sorted copies, kept per input array while it lives: one report needs each side's scores sorted
 * for AUC, KS, Wasserstein and PSI, and a million doubles take ~0.15 s to sort. Nothing here
 * mutates an input it did not allocate, so a kept copy stays true.
 */
const sortedCopies = new WeakMap<Float64Array, Float64Array>();
function sortedCopy(x: Float64Array): Float64Array {
  let sorted = sortedCopies.get(x);
  if (!sorted) sortedCopies.set(x, (sorted = Float64Array.from(x).sort()));
  return sorted;
}

/**
 * Sizes up to which the KS p-value is exact: the lattice-path computation takes m·n steps, about
 * 0.3 s at 10⁸ on this project's 2-core machine.
 */
export const KS_EXACT_MAX_CELLS = 1e8;

/**
 * Two-sample Kolmogorov-Smirnov. The statistic is exact (found on integers: D·m·n =
 * max |i·n − j·m| over the merged order). The two-sided p-value P(D ≥ d) is exact, as scipy's
 * `ks_2samp(method="exact")` computes it, while m·n ≤ KS_EXACT_MAX_CELLS; above that it is
 * Kolmogorov's limiting distribution with Stephens' correction, whose absolute error against the
 * exact value is below KS_ASYMPTOTIC_ERROR_BOUND there (measured at the switch-over in the tests;
 * it shrinks as samples grow). NaN on empty or non-finite input.
 */
export function ksTwoSample(a: Float64Array, b: Float64Array): { statistic: number; pvalue: number; method: 'exact' | 'asymptotic' } {
  const m = a.length;
  const n = b.length;
  if (m === 0 || n === 0 || !allFinite(a) || !allFinite(b)) return { statistic: Number.NaN, pvalue: Number.NaN, method: 'exact' };
  const x = sortedCopy(a);
  const y = sortedCopy(b);
  let i = 0;
  let j = 0;
  let gap = 0;
  while (i < m && j < n) {
    const v = Math.min(x[i]!, y[j]!);
    while (i < m && x[i]! <= v) i++;
    while (j < n && y[j]! <= v) j++;
    gap = Math.max(gap, Math.abs(i * n - j * m));
  }
  const statistic = gap / (m * n);
  if (m * n <= KS_EXACT_MAX_CELLS) return { statistic, pvalue: ksExactSurvival(m, n, gap), method: 'exact' };
  const en = (m * n) / (m + n);
  const lambda = (Math.sqrt(en) + 0.12 + 0.11 / Math.sqrt(en)) * statistic;
  return { statistic, pvalue: kolmogorovSurvival(lambda), method: 'asymptotic' };
}

/** The largest |p_asymptotic − p_exact| where ksTwoSample switches to the limiting form (see the tests). */
export const KS_ASYMPTOTIC_ERROR_BOUND = 2.5e-3;

/**
 * P(max |i·n − j·m| ≥ gap) over the C(m+n, m) equally likely orders of the two samples: a walk
 * over the lattice from (0,0) to (m,n), each step taking the next value from x with probability
 * (m−i)/(m−i+n−j). Mass that reaches the band's edge is added to the answer and walks no further,
 * so the answer is summed directly (no 1 − p cancellation for small p).
 */
export function ksExactSurvival(m: number, n: number, gap: number): number {
  if (gap <= 0) return 1;
  const outside = (i: number, j: number) => Math.abs(i * n - j * m) >= gap;
  // row[j]: probability of standing at (i, j) having stayed inside the band.
  let row = new Float64Array(n + 1);
  let next = new Float64Array(n + 1);
  let escaped = 0;
  row[0] = 1;
  for (let i = 0; i <= m; i++) {
    next.fill(0);
    for (let j = 0; j <= n; j++) {
      const p = row[j]!;
      if (p === 0) continue;
      const left = m - i + n - j;
      if (left === 0) continue;
      if (i < m) {
        const q = (p * (m - i)) / left;
        if (outside(i + 1, j)) escaped += q;
        else next[j] = next[j]! + q;
      }
      if (j < n) {
        const q = (p * (n - j)) / left;
        if (outside(i, j + 1)) escaped += q;
        else row[j + 1] = row[j + 1]! + q;
      }
    }
    [row, next] = [next, row];
  }
  return Math.min(1, escaped);
}

/** Q(λ) = 2 Σ (-1)^(k-1) exp(-2k²λ²), the limiting distribution's survival function. */
export function kolmogorovSurvival(lambda: number): number {
  if (!(lambda >= 0.2)) return Number.isNaN(lambda) ? Number.NaN : 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = (k % 2 === 1 ? 1 : -1) * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-16) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** Wasserstein-1 between the two empirical distributions: ∫ |F_a − F_b|, exact. NaN on empty or non-finite input. */
export function wasserstein1(a: Float64Array, b: Float64Array): number {
  if (a.length === 0 || b.length === 0 || !allFinite(a) || !allFinite(b)) return Number.NaN;
  const x = sortedCopy(a);
  const y = sortedCopy(b);
  let i = 0;
  let j = 0;
  let distance = 0;
  let previous = Math.min(x[0]!, y[0]!);
  while (i < x.length || j < y.length) {
    const next = j >= y.length || (i < x.length && x[i]! <= y[j]!) ? x[i]! : y[j]!;
    distance += Math.abs(i / x.length - j / y.length) * (next - previous);
    previous = next;
    while (i < x.length && x[i]! === next) i++;
    while (j < y.length && y[j]! === next) j++;
  }
  return distance;
}

/**
 * Population stability index of `actual` against deciles (by default) of `reference`: Σ (q−p)·ln(q/p),
 * bin shares floored at `floor` so an empty bin does not make it infinite.
 */
export function psi(reference: Float64Array, actual: Float64Array, bins = 10, floor = 1e-4): number {
  if (reference.length === 0 || actual.length === 0 || !allFinite(reference) || !allFinite(actual)) return Number.NaN;
  const sorted = sortedCopy(reference);
  const edges = Array.from({ length: bins - 1 }, (_, k) => quantileSorted(sorted, (k + 1) / bins));
  const share = (values: Float64Array) => {
    const counts = new Array<number>(bins).fill(0);
    for (const v of values) {
      // numpy.histogram bins are [e_k, e_k+1): a value on an inner edge goes to the upper bin.
      let lo = 0;
      let hi = edges.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (v >= edges[mid]!) lo = mid + 1;
        else hi = mid;
      }
      counts[lo]!++;
    }
    return counts.map((c) => Math.max(c / values.length, floor));
  };
  const p = share(reference);
  const q = share(actual);
  return p.reduce((sum, pk, k) => sum + (q[k]! - pk) * Math.log(q[k]! / pk), 0);
}
