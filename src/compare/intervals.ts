/**
 * Exact binomial confidence intervals (Clopper-Pearson), for the count criteria of the shadow
 * gate: the share of rows whose served label changed, and McNemar's paired accuracy difference.
 * Found by bisection on the binomial tail, summed from the observed count outwards in log space,
 * so it is exact to the bisection's 1e-12 and neither overflows nor underflows at millions of rows.
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: about 15 significant digits). */
export function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  x -= 1;
  let a = c[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k < 0) return 0;
  if (k >= n || p <= 0) return 1;
  if (p >= 1) return 0;
  const logPmf = (i: number) => logGamma(n + 1) - logGamma(i + 1) - logGamma(n - i + 1) + i * Math.log(p) + (n - i) * Math.log1p(-p);
  // Sum the shorter side; terms shrink geometrically away from the mode, so stop once they are negligible.
  const mode = Math.floor((n + 1) * p);
  const sumRange = (from: number, to: number, step: 1 | -1) => {
    let sum = 0;
    let largest = -Infinity;
    for (let i = from; step > 0 ? i <= to : i >= to; i += step) {
      const term = logPmf(i);
      largest = Math.max(largest, term);
      sum += Math.exp(term);
      if (term < largest - 40 && (step < 0 ? i < mode : i > mode)) break;
    }
    return sum;
  };
  if (k <= mode) return Math.min(1, sumRange(k, 0, -1));
  return Math.max(0, 1 - sumRange(k + 1, n, 1));
}

/** The exact two-sided interval for a binomial proportion, k successes in n trials. */
export function clopperPearson(k: number, n: number, level = 0.95): [number, number] {
  // A count that is not one (NaN, a fraction, more than n) has no interval: say so, never a wrong one.
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || k > Math.max(n, 0)) return [Number.NaN, Number.NaN];
  if (n <= 0) return [0, 1];
  const alpha = (1 - level) / 2;
  // Lower: P(X ≥ k | p) = α/2; upper: P(X ≤ k | p) = α/2. Both tails are monotone in p.
  const lower = k === 0 ? 0 : bisect((p) => 1 - binomialCdf(k - 1, n, p) - alpha);
  const upper = k === n ? 1 : bisect((p) => alpha - binomialCdf(k, n, p));
  return [lower, upper];
}

/** The root in [0, 1] of an increasing function. */
function bisect(f: (p: number) => number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * McNemar's exact interval for a paired difference of accuracies (target − source): of the
 * `discordant` rows where exactly one side is right, `targetOnly` are the target's. Conditional on
 * the discordant count, targetOnly is binomial with π; Δ = discordant/n · (2π − 1).
 */
export function pairedAccuracyInterval(targetOnly: number, discordant: number, n: number, level = 0.95): [number, number] {
  if (discordant === 0 || n === 0) return [0, 0];
  const [lo, hi] = clopperPearson(targetOnly, discordant, level);
  const share = discordant / n;
  return [share * (2 * lo - 1), share * (2 * hi - 1)];
}

const Z95 = 1.959963984540054;

/** Index of the first element ≥ v (lower) or > v (upper) in sorted data. */
function bound(sorted: Float64Array, v: number, upper: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (upper ? sorted[mid]! <= v : sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * DeLong's interval for a paired difference of ROC AUCs (b − a) on one holdout: each side's
 * structural components (per positive, the share of negatives it outranks, ties half; per
 * negative, the share of positives that outrank it), their covariance across the two score sets,
 * and a normal interval. O(n log n). `positive[i]` says whether row i is of the positive class.
 */
export function pairedAucInterval(positive: ArrayLike<boolean>, a: ArrayLike<number>, b: ArrayLike<number>, level = 0.95): [number, number] {
  const n = positive.length;
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < n; i++) (positive[i] ? pos : neg).push(i);
  const P = pos.length;
  const N = neg.length;
  if (P < 2 || N < 2) return [Number.NaN, Number.NaN];
  // A NaN or infinite score makes every placement undefined (finiteValues fails such a pair first).
  for (let i = 0; i < n; i++) if (!Number.isFinite(a[i]!) || !Number.isFinite(b[i]!)) return [Number.NaN, Number.NaN];
  const components = (scores: ArrayLike<number>) => {
    const sortedNeg = Float64Array.from(neg, (j) => scores[j]!).sort();
    const sortedPos = Float64Array.from(pos, (i) => scores[i]!).sort();
    const v10 = Float64Array.from(pos, (i) => {
      const x = scores[i]!;
      const below = bound(sortedNeg, x, false);
      return (below + (bound(sortedNeg, x, true) - below) / 2) / N;
    });
    const v01 = Float64Array.from(neg, (j) => {
      const y = scores[j]!;
      const atMost = bound(sortedPos, y, true);
      return (P - atMost + (atMost - bound(sortedPos, y, false)) / 2) / P;
    });
    return { v10, v01 };
  };
  const ca = components(a);
  const cb = components(b);
  const mean = (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length;
  /** Sample variance of (x − y), i.e. Var x + Var y − 2 Cov(x, y). */
  const varianceOfDifference = (x: Float64Array, y: Float64Array) => {
    const mx = mean(x);
    const my = mean(y);
    let s = 0;
    for (let k = 0; k < x.length; k++) s += (x[k]! - mx - (y[k]! - my)) ** 2;
    return s / (x.length - 1);
  };
  const delta = mean(cb.v10) - mean(ca.v10);
  const variance = varianceOfDifference(cb.v10, ca.v10) / P + varianceOfDifference(cb.v01, ca.v01) / N;
  const z = level === 0.95 ? Z95 : normalQuantile(1 - (1 - level) / 2);
  const half = z * Math.sqrt(Math.max(0, variance));
  return [delta - half, delta + half];
}

/**
 * The relative change of a regressor's RMSE or MAE (target over source, minus one) with a paired
 * normal interval by the delta method: per row d = e_t² − e_s² (RMSE) or |e_t| − |e_s| (MAE),
 * its mean's interval mapped through the metric. Values are divided by their largest magnitude
 * first, so nothing overflows and the result does not depend on units.
 */
export function pairedErrorInterval(metric: 'rmse' | 'mae', truth: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>, level = 0.95): [number, number] {
  const n = truth.length;
  if (n < 2) return [Number.NaN, Number.NaN];
  let scale = 0;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(truth[i]!), Math.abs(a[i]!), Math.abs(b[i]!));
  if (scale === 0 || !Number.isFinite(scale)) return [Number.NaN, Number.NaN];
  const d = new Float64Array(n);
  let base = 0;
  for (let i = 0; i < n; i++) {
    const es = truth[i]! / scale - a[i]! / scale;
    const et = truth[i]! / scale - b[i]! / scale;
    const [s, t] = metric === 'rmse' ? [es * es, et * et] : [Math.abs(es), Math.abs(et)];
    base += s;
    d[i] = t - s;
  }
  base /= n;
  if (base === 0) return [Number.NaN, Number.NaN];
  const mean = d.reduce((s, x) => s + x, 0) / n;
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1));
  const z = level === 0.95 ? Z95 : normalQuantile(1 - (1 - level) / 2);
  const lo = mean - (z * sd) / Math.sqrt(n);
  const hi = mean + (z * sd) / Math.sqrt(n);
  const relative = (change: number) => (metric === 'rmse' ? Math.sqrt(Math.max(0, base + change) / base) - 1 : change / base);
  return [relative(lo), relative(hi)];
}

/** The standard normal quantile (Acklam's rational approximation: relative error below 1.2e-9). */
export function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  return x;
}
