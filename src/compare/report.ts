/**
 * The shadow comparison report: every statistic, each criterion with its threshold and verdict,
 * and the histograms the HTML page plots. Pure: prediction columns in, a plain object out.
 */
import type { MigrationSpec, ModelTask } from '../spec.js';
import {
  accuracy,
  agreement,
  ksTwoSample,
  mae,
  type PairedDifferences,
  pairedDifferences,
  psi,
  rmse,
  rocAuc,
  wasserstein1,
} from './statistics.js';

export interface SideColumns {
  scores: Float64Array;
  labels?: Int32Array;
  truth: Float64Array;
}

export interface Criterion {
  name: string;
  description: string;
  value: number;
  /** Absent for a drift monitor the spec did not make a gate. */
  threshold?: number;
  comparator: '<=' | '>=';
  /** Whether a failure stops the migration; monitors are reported only. */
  gate: boolean;
  passed: boolean;
}

export interface HoldoutMetric {
  name: 'accuracy' | 'auc' | 'rmse' | 'mae';
  source: number;
  target: number;
  /** |target − source|; for RMSE and MAE relative to the source's value (they carry the label's units). */
  delta: number;
  relative: boolean;
}

export interface Histogram {
  edges: number[];
  counts: number[][];
}

/** Differences that are execution noise, not migration, measured on one side. */
export interface NoiseSummary {
  rows: number;
  /** What the second run was, e.g. `cpu against cpu with 1 thread`. */
  comparison: string;
  maxAbsolute: number;
  meanAbsolute: number;
  maxRelative: number;
  meanRelative: number;
}

export interface ShadowReport {
  migration: string;
  task: ModelTask;
  rows: number;
  paired: PairedDifferences;
  labelAgreement?: number;
  metrics: HoldoutMetric[];
  distribution: { ks: { statistic: number; pvalue: number }; psi: number; wasserstein1: number };
  noise: { source?: NoiseSummary; target?: NoiseSummary };
  criteria: Criterion[];
  passed: boolean;
  /** Names of the gating criteria that failed. */
  failed: string[];
  histograms: { scores: Histogram; differences: Histogram };
}

export interface ReportInput {
  migration: string;
  task: ModelTask;
  source: SideColumns;
  target: SideColumns;
  shadow: Pick<MigrationSpec['shadow'], 'tolerances' | 'driftGates'>;
  noise?: ShadowReport['noise'];
}

export function buildShadowReport(input: ReportInput): ShadowReport {
  const { source, target, task } = input;
  const { tolerances, driftGates } = input.shadow;
  const paired = pairedDifferences(source.scores, target.scores);
  const metrics = holdoutMetrics(task, source, target);
  const labelAgreement = source.labels && target.labels ? agreement(source.labels, target.labels) : undefined;
  const ks = ksTwoSample(source.scores, target.scores);
  const distribution = { ks, psi: psi(source.scores, target.scores), wasserstein1: wasserstein1(source.scores, target.scores) };

  const criteria: Criterion[] = [
    ...metrics.map((m) => atMost(`${m.name}Delta`, `${m.relative ? 'relative ' : ''}change of holdout ${m.name.toUpperCase()}`, m.delta, tolerances.maxMetricDelta, true)),
    atMost(
      'meanRelativeDiff',
      `mean relative difference of paired scores (95 % CI ${paired.meanRelativeCi95.map((v) => v.toExponential(2)).join(' … ')})`,
      paired.relative.mean,
      tolerances.maxMeanRelativeDiff,
      true,
    ),
    ...(labelAgreement === undefined
      ? []
      : [{ name: 'labelAgreement', description: 'share of rows with the same predicted class', value: labelAgreement, threshold: tolerances.minLabelAgreement, comparator: '>=' as const, gate: true, passed: labelAgreement >= tolerances.minLabelAgreement }]),
    atMost('ksStatistic', `two-sample KS statistic of the score distributions (p = ${ks.pvalue.toPrecision(3)})`, ks.statistic, driftGates.maxKsStatistic),
    atMost('psi', 'population stability index of target scores against source deciles', distribution.psi, driftGates.maxPsi),
    atMost('wasserstein1', 'Wasserstein-1 distance between the score distributions', distribution.wasserstein1, driftGates.maxWasserstein),
  ];
  const failed = criteria.filter((c) => c.gate && !c.passed).map((c) => c.name);
  return {
    migration: input.migration,
    task,
    rows: paired.n,
    paired,
    ...(labelAgreement === undefined ? {} : { labelAgreement }),
    metrics,
    distribution,
    noise: input.noise ?? {},
    criteria,
    passed: failed.length === 0,
    failed,
    histograms: { scores: histogram([source.scores, target.scores]), differences: histogram([differences(source.scores, target.scores)]) },
  };
}

function atMost(name: string, description: string, value: number, threshold: number | undefined, gate = threshold !== undefined): Criterion {
  return { name, description, value, ...(threshold === undefined ? {} : { threshold }), comparator: '<=', gate, passed: threshold === undefined || value <= threshold };
}

function holdoutMetrics(task: ModelTask, source: SideColumns, target: SideColumns): HoldoutMetric[] {
  const absolute = (name: HoldoutMetric['name'], s: number, t: number): HoldoutMetric => ({ name, source: s, target: t, delta: Math.abs(t - s), relative: false });
  const relative = (name: HoldoutMetric['name'], s: number, t: number): HoldoutMetric => ({ name, source: s, target: t, delta: Math.abs(t - s) / Math.max(Math.abs(s), Number.MIN_VALUE), relative: true });
  if (task === 'regression') {
    return [relative('rmse', rmse(source.truth, source.scores), rmse(target.truth, target.scores)), relative('mae', mae(source.truth, source.scores), mae(target.truth, target.scores))];
  }
  if (!source.labels || !target.labels) throw new Error(`a ${task} model must predict labels; the predictions carry none`);
  const metrics = [absolute('accuracy', accuracy(source.truth, source.labels), accuracy(target.truth, target.labels))];
  if (task === 'binary') metrics.push(absolute('auc', rocAuc(source.truth, source.scores), rocAuc(target.truth, target.scores)));
  return metrics;
}

function differences(a: Float64Array, b: Float64Array): Float64Array {
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = b[i]! - a[i]!;
  return d;
}

/** Shared equal-width bins over all series, for overlaid plots. */
export function histogram(series: Float64Array[], bins = 40): Histogram {
  let lo = Infinity;
  let hi = -Infinity;
  for (const values of series) for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return { edges: [], counts: series.map(() => []) };
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, k) => lo + k * width);
  const counts = series.map((values) => {
    const c = new Array<number>(bins).fill(0);
    for (const v of values) c[Math.min(bins - 1, Math.floor((v - lo) / width))]!++;
    return c;
  });
  return { edges, counts };
}
