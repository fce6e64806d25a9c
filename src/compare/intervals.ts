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
