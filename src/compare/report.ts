/**
 * The shadow comparison report: every statistic, each criterion with its threshold and verdict,
 * and the histograms the HTML page plots. Pure: prediction columns in, a plain object out.
 *
 * What it promises: the served label and the whole probability vector are compared, not a score
 * column alone; a non-finite value is a failed criterion, never a hang; a statistic that is
 * undefined for this holdout is "not applicable" with the reason, never a null to format;
 * criteria over counts are decided on integers, so a change of exactly the tolerance passes, as
 * the spec's "≤" says; and a holdout too small to resolve the tolerance gives "inconclusive".
 */
import type { ProvenanceSummary, RuntimeComparison } from '../artifacts/provenance.js';
import { NonRetryableError } from '../errors.js';
import type { MigrationSpec, ModelTask } from '../spec.js';
import { clopperPearson, pairedAccuracyInterval, pairedAucInterval, pairedErrorInterval } from './intervals.js';
import { ksTwoSample, mae, type PairedDifferences, pairedDifferences, psi, relativeL2Difference, rmse, rocAuc, wasserstein1 } from './statistics.js';

export interface SideColumns {
  scores: Float64Array;
  /** The served labels (classifiers). */
  labels?: Float64Array;
  truth: Float64Array;
  /** Row-major, `columns` a row (classifiers). */
  probabilities?: Float32Array;
  columns?: number;
  /** The model's class labels in column order, where it names them; else column k is class k. */
  classes?: readonly number[];
  /** String classes as the model names them, in the order of `classes` (which holds their codes). */
  classNames?: readonly string[];
}

/** A class as a person reads it: its name where the model's classes are strings, else its number. */
function classLabel(side: SideColumns, code: number): string {
  const at = side.classNames && side.classes ? side.classes.indexOf(code) : -1;
  return at >= 0 ? JSON.stringify(side.classNames![at]) : String(code);
}

export type CriterionStatus = 'passed' | 'failed' | 'notApplicable';

export interface Criterion {
  name: string;
  description: string;
  /** Absent when not applicable, or when the value is not finite (the reason says which). */
  value?: number;
  /** Absent for a drift monitor the spec did not make a gate. */
  threshold?: number;
  comparator: '<=' | '>=';
  /** Whether a failure stops the migration; monitors and inapplicable criteria are reported only. */
  gate: boolean;
  status: CriterionStatus;
  /** status === 'passed', or not a gate. */
  passed: boolean;
  /** Why it is not applicable, or what made its value non-finite. */
  reason?: string;
  /** For criteria decided on counts: the rows that count against it and how many the tolerance allows. */
  count?: { observed: number; allowed: number; rows: number };
  /** 95 % confidence interval of the value. */
  ci95?: [number, number];
}

export interface HoldoutMetric {
  name: 'accuracy' | 'auc' | 'rmse' | 'mae';
  /** Absent where the metric is undefined for this holdout (e.g. AUC on one class). */
  source?: number;
  target?: number;
  delta?: number;
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

export type ShadowVerdictKind = 'passed' | 'failed' | 'inconclusive';

export interface ShadowReport {
  migration: string;
  task: ModelTask;
  rows: number;
  /** The smallest change in a share of rows this holdout can show: one row in n. */
  resolution: number;
  paired?: PairedDifferences;
  labelAgreement?: number;
  metrics: HoldoutMetric[];
  distribution: { ks?: { statistic: number; pvalue: number; method: string }; psi?: number; wasserstein1?: number };
  noise: { source?: NoiseSummary; target?: NoiseSummary };
  /** Said beside the verdict when a side's noise floor exceeds a tenth of a tolerance. */
  noiseWarnings: string[];
  criteria: Criterion[];
  verdict: ShadowVerdictKind;
  passed: boolean;
  /** Names of the gating criteria that failed. */
  failed: string[];
  /** Why the verdict is inconclusive. */
  inconclusive: string[];
  /** How the paired score criterion is measured, said in the report. */
  pairedMeasure: string;
  histograms: { scores: Histogram; differences: Histogram };
  /** The model's provenance, and each side's runtime beside what it declares. */
  provenance?: { summary: ProvenanceSummary; runtime: RuntimeComparison[] };
}

export interface ReportInput {
  migration: string;
  task: ModelTask;
  source: SideColumns;
  target: SideColumns;
  shadow: Pick<MigrationSpec['shadow'], 'tolerances' | 'driftGates'> & Partial<Pick<MigrationSpec['shadow'], 'gateOn'>>;
  noise?: ShadowReport['noise'];
  provenance?: ShadowReport['provenance'];
}

/** A holdout or model the gate cannot judge; retrying cannot change it. */
export class ShadowInputError extends NonRetryableError {
  constructor(message: string, context: NonRetryableError['context'] = {}) {
    super('ShadowInputError', message, context);
  }
}

/** The most rows a tolerance allows: ⌊tol·n⌋, nudged so a decimal tolerance like 0.001·3000 is 3, not 2.999…. */
export function allowedRows(tolerance: number, n: number): number {
  return Math.max(0, Math.floor(tolerance * n * (1 + 1e-12) + 1e-9));
}

const MAX_ROWS_NAMED = 5;

export function buildShadowReport(input: ReportInput): ShadowReport {
  const { source, target, task } = input;
  const { tolerances, driftGates } = input.shadow;
  const upperBound = input.shadow.gateOn === 'upperBound';
  const n = source.scores.length;
  if (target.scores.length !== n) throw new ShadowInputError(`the source predicted ${n} rows and the target ${target.scores.length}: the runs cannot be paired`);
  const criteria: Criterion[] = [];
  const inconclusive: string[] = [];
  const metrics: HoldoutMetric[] = [];
  const distribution: ShadowReport['distribution'] = {};
  let paired: PairedDifferences | undefined;
  let labelAgreement: number | undefined;
  let pairedMeasure = '';
  let labelsOnlyReason: string | undefined;

  const truthDiffers = firstRows(n, (i) => !sameNumber(source.truth[i]!, target.truth[i]!));
  if (truthDiffers.count > 0) {
    throw new ShadowInputError(`the holdout's label column differs between the clouds in ${truthDiffers.count} rows (first rows ${truthDiffers.rows.join(', ')}): the holdouts are not the same file, so the runs cannot be paired`);
  }

  // Non-finite values: counted per side and named, and nothing else is computed from them.
  const sides = { source, target } as const;
  const nonFinite = Object.entries(sides).map(([side, c]) => {
    const width = c.columns ?? 0;
    const bad = firstRows(n, (i) => {
      if (!Number.isFinite(c.scores[i]!) || !Number.isFinite(c.truth[i]!)) return true;
      if (c.labels && !Number.isFinite(c.labels[i]!)) return true;
      for (let k = 0; k < width; k++) if (!Number.isFinite(c.probabilities![i * width + k]!)) return true;
      return false;
    });
    return { side, ...bad };
  });
  const nonFiniteRows = nonFinite.reduce((sum, s) => sum + s.count, 0);
  criteria.push({
    name: 'finiteValues',
    description:
      nonFiniteRows === 0
        ? 'rows with a NaN or infinite score, probability, served label or holdout label, on either side'
        : `rows with a NaN or infinite score, probability, served label or holdout label: ${nonFinite.map((s) => `${s.side} ${s.count}${s.count ? ` (first rows ${s.rows.join(', ')})` : ''}`).join(', ')}`,
    value: nonFiniteRows,
    threshold: 0,
    comparator: '<=',
    gate: true,
    status: nonFiniteRows === 0 ? 'passed' : 'failed',
    passed: nonFiniteRows === 0,
  });

  if (n === 0) inconclusive.push('the holdout has no rows, so nothing was compared');
  const notApplicable = (name: string, description: string, reason: string, comparator: Criterion['comparator'] = '<='): Criterion => ({
    name,
    description,
    comparator,
    gate: false,
    status: 'notApplicable',
    passed: true,
    reason,
  });
  const skipReason = nonFiniteRows > 0 ? `${nonFiniteRows} rows hold non-finite values (see finiteValues)` : n === 0 ? 'the holdout has no rows' : undefined;

  if (skipReason) {
    for (const name of task === 'regression' ? ['rmseDelta', 'maeDelta', 'relativeL2Diff'] : ['accuracyDelta', 'labelAgreement', ...(task === 'binary' ? ['aucDelta'] : []), 'probabilityDelta', 'meanRelativeDiff']) {
      criteria.push(notApplicable(name, 'not computed', skipReason));
    }
    for (const name of ['ksStatistic', 'psi', 'wasserstein1']) criteria.push(notApplicable(name, 'drift monitor, not computed', skipReason));
  } else if (task === 'regression') {
    for (const [name, f] of [['rmse', rmse], ['mae', mae]] as const) {
      const s = f(source.truth, source.scores);
      const t = f(target.truth, target.scores);
      const delta = s === t ? 0 : Math.abs(t - s) / Math.abs(s);
      metrics.push({ name, source: s, target: t, delta, relative: true });
      const ci = pairedErrorInterval(name, source.truth, source.scores, target.scores);
      criteria.push(
        withInterval(
          atMost(`${name}Delta`, `relative change of holdout ${name.toUpperCase()} (|target − source| / source; ${fmt(s)} → ${fmt(t)}; 95 % CI of the signed change by the delta method)`, delta, tolerances.maxMetricDelta, true),
          ci,
          upperBound ? tolerances.maxMetricDelta : undefined,
        ),
      );
    }
    const l2 = relativeL2Difference(source.scores, target.scores);
    pairedMeasure = '‖target − source‖₂ / ‖source‖₂ over the predictions: independent of the label’s units';
    criteria.push(atMost('relativeL2Diff', `relative L2 difference of paired predictions, ${pairedMeasure}`, l2, tolerances.maxMeanRelativeDiff, true));
    paired = pairedDifferences(source.scores, target.scores);
  } else {
    if (!source.labels || !target.labels) throw new ShadowInputError(`a ${task} model must serve labels; the predictions carry none (is it a regressor?)`);
    const sourceClasses = classesOf(source);
    const targetClasses = classesOf(target);
    checkHoldoutLabels('source', source, sourceClasses);
    checkHoldoutLabels('target', target, targetClasses);

    // Accuracy, decided on the change in correct rows (McNemar's discordant pairs).
    let sourceOnly = 0;
    let targetOnly = 0;
    let correctSource = 0;
    let correctTarget = 0;
    let disagreements = 0;
    for (let i = 0; i < n; i++) {
      const s = source.labels[i] === source.truth[i];
      const t = target.labels[i] === target.truth[i];
      if (s) correctSource++;
      if (t) correctTarget++;
      if (s && !t) sourceOnly++;
      if (t && !s) targetOnly++;
      if (source.labels[i] !== target.labels[i]) disagreements++;
    }
    const accuracyAllowed = allowedRows(tolerances.maxMetricDelta, n);
    const changed = Math.abs(correctTarget - correctSource);
    const accuracyCi = pairedAccuracyInterval(targetOnly, sourceOnly + targetOnly, n);
    // |Δaccuracy| can be no more than the share of discordant rows; its exact upper bound is what
    // the spec's upperBound gates on (McNemar's interval above is conditional on the discordant count).
    const accuracyBound = clopperPearson(sourceOnly + targetOnly, n)[1];
    const accuracyPassed = upperBound ? accuracyBound <= tolerances.maxMetricDelta : changed <= accuracyAllowed;
    metrics.push({ name: 'accuracy', source: correctSource / n, target: correctTarget / n, delta: changed / n, relative: false });
    criteria.push(
      countCriterion(
        'accuracyDelta',
        `change of holdout accuracy of the served labels: ${correctSource} → ${correctTarget} of ${n} rows right (${sourceOnly} only the source got right, ${targetOnly} only the target); at most ${accuracyAllowed} rows allowed${upperBound ? `; gated on the 95 % upper bound of the discordant share, ${fmt(accuracyBound)}` : ''}`,
        { value: changed / n, threshold: tolerances.maxMetricDelta, comparator: '<=', passed: accuracyPassed, ci95: accuracyCi },
        { observed: changed, allowed: accuracyAllowed, rows: n },
      ),
    );

    labelAgreement = 1 - disagreements / n;
    const disagreementAllowed = allowedRows(1 - tolerances.minLabelAgreement, n);
    const [dLo, dHi] = clopperPearson(disagreements, n);
    const agreementPassed = upperBound ? 1 - dHi >= tolerances.minLabelAgreement : disagreements <= disagreementAllowed;
    criteria.push(
      countCriterion(
        'labelAgreement',
        `share of rows served the same label: ${disagreements} of ${n} differ, at most ${disagreementAllowed} allowed${upperBound ? '; gated on the 95 % lower bound' : ''}`,
        { value: labelAgreement, threshold: tolerances.minLabelAgreement, comparator: '>=', passed: agreementPassed, ci95: [1 - dHi, 1 - dLo] },
        { observed: disagreements, allowed: disagreementAllowed, rows: n },
      ),
    );
    if (tolerances.maxMetricDelta * n < 1 - 1e-9) inconclusive.push(`one row is ${fmt(1 / n)} of ${n} rows, more than the accuracy tolerance ${tolerances.maxMetricDelta}: the holdout cannot resolve it`);
    if ((1 - tolerances.minLabelAgreement) * n < 1 - 1e-9 && tolerances.minLabelAgreement < 1) {
      inconclusive.push(`one row is ${fmt(1 / n)} of ${n} rows, more than the disagreement the spec allows (${fmt(1 - tolerances.minLabelAgreement)}): the holdout cannot resolve it`);
    }

    const labelOnly = (['source', 'target'] as const).filter((side) => !sides[side].probabilities);
    if (labelOnly.length > 0) {
      const reason = `the ${labelOnly.join(' and the ')} model${labelOnly.length > 1 ? 's serve' : ' serves'} labels only (no probability output), so there is no score to compare: judged on the labels (accuracy, agreement)`;
      if (task === 'binary') criteria.push(notApplicable('aucDelta', 'change of holdout ROC AUC', reason));
      criteria.push(notApplicable('probabilityDelta', 'largest per-class probability difference', reason));
      criteria.push(notApplicable('meanRelativeDiff', 'mean relative difference of paired scores', reason));
      labelsOnlyReason = reason;
    } else {
      if (task === 'binary') {
        const positive = Math.max(...sourceClasses);
        const truth = Float64Array.from(source.truth, (v) => (v === positive ? 1 : 0));
        const positives = truth.reduce((a, b) => a + b, 0);
        if (positives === 0 || positives === n) {
          metrics.push({ name: 'auc', relative: false });
          criteria.push(notApplicable('aucDelta', 'change of holdout ROC AUC', `the holdout's labels have one class (${positives === 0 ? 'no' : 'only'} rows of class ${positive}), so AUC is undefined`));
        } else {
          const s = rocAuc(truth, source.scores);
          const t = rocAuc(truth, target.scores);
          metrics.push({ name: 'auc', source: s, target: t, delta: Math.abs(t - s), relative: false });
          const ci = pairedAucInterval(Array.from(truth, (v) => v === 1), source.scores, target.scores);
          criteria.push(
            withInterval(
              atMost('aucDelta', `change of holdout ROC AUC of the class-${positive} probability (${fmt(s)} → ${fmt(t)}; 95 % CI of the signed change by DeLong)`, Math.abs(t - s), tolerances.maxMetricDelta, true),
              ci,
              upperBound ? tolerances.maxMetricDelta : undefined,
            ),
          );
        }
      }

      criteria.push(probabilityCriterion(source, target, sourceClasses, targetClasses, tolerances.maxProbabilityDelta));
      paired = pairedDifferences(source.scores, target.scores);
      pairedMeasure = 'per row |Δ| / max(|source|, |target|, 10⁻³) of the score (a probability, so the floor is in its own units)';
      criteria.push(
        atMost(
          'meanRelativeDiff',
          `mean relative difference of paired scores (${task === 'binary' ? 'positive class' : 'winning class'} probability; 95 % CI ${paired.meanRelativeCi95.map((v) => v.toExponential(2)).join(' … ')})`,
          paired.relative.mean,
          tolerances.maxMeanRelativeDiff,
          true,
        ),
      );

    }
  }

  if (labelsOnlyReason) {
    for (const name of ['ksStatistic', 'psi', 'wasserstein1']) criteria.push(notApplicable(name, 'drift monitor, not computed', labelsOnlyReason));
  } else if (!skipReason) {
    const ks = ksTwoSample(source.scores, target.scores);
    distribution.ks = ks;
    distribution.psi = psi(source.scores, target.scores);
    distribution.wasserstein1 = wasserstein1(source.scores, target.scores);
    criteria.push(atMost('ksStatistic', `two-sample KS statistic of the score distributions (p = ${fmt(ks.pvalue)}, ${ks.method})`, ks.statistic, driftGates.maxKsStatistic));
    criteria.push(atMost('psi', 'population stability index of target scores against source deciles', distribution.psi, driftGates.maxPsi));
    criteria.push(atMost('wasserstein1', 'Wasserstein-1 distance between the score distributions', distribution.wasserstein1, driftGates.maxWasserstein));
  }

  const noise = input.noise ?? {};
  const noiseWarnings: string[] = [];
  const smallest = Math.min(tolerances.maxMeanRelativeDiff, task === 'regression' ? Infinity : tolerances.maxProbabilityDelta);
  for (const [side, floor] of Object.entries(noise)) {
    if (floor && floor.maxRelative > smallest / 10) {
      noiseWarnings.push(`the ${side}'s noise floor (${floor.comparison}, ${floor.rows} rows) reaches ${fmt(floor.maxRelative)} relative, more than a tenth of the tolerance ${smallest}: differences that small are execution noise`);
    }
  }

  const failed = criteria.filter((c) => c.gate && c.status === 'failed').map((c) => c.name);
  const verdict: ShadowVerdictKind = failed.length > 0 ? 'failed' : inconclusive.length > 0 ? 'inconclusive' : 'passed';
  return {
    migration: input.migration,
    task,
    rows: n,
    resolution: n ? 1 / n : 1,
    ...(paired ? { paired } : {}),
    ...(labelAgreement === undefined ? {} : { labelAgreement }),
    metrics,
    distribution,
    noise,
    noiseWarnings,
    criteria,
    verdict,
    passed: verdict === 'passed',
    failed,
    inconclusive,
    pairedMeasure,
    ...(input.provenance ? { provenance: input.provenance } : {}),
    histograms: skipReason
      ? { scores: { edges: [], counts: [[], []] }, differences: { edges: [], counts: [[]] } }
      : { scores: histogram([source.scores, target.scores]), differences: histogram([differences(source.scores, target.scores)]) },
  };
}

/** A gating criterion decided on a count of rows. */
function countCriterion(
  name: string,
  description: string,
  decided: { value: number; threshold: number; comparator: Criterion['comparator']; passed: boolean; ci95: [number, number] },
  count: NonNullable<Criterion['count']>,
): Criterion {
  const { passed, ...rest } = decided;
  return { name, description, ...rest, gate: true, status: passed ? 'passed' : 'failed', passed, count };
}

/** A ≤ criterion over a real value; NaN makes it not applicable, ±Infinity is decided and said. */
function atMost(name: string, description: string, value: number, threshold: number | undefined, gate = threshold !== undefined): Criterion {
  if (Number.isNaN(value)) {
    return { name, description, comparator: '<=', gate: false, status: 'notApplicable', passed: true, reason: 'undefined for this holdout', ...(threshold === undefined ? {} : { threshold }) };
  }
  const passed = threshold === undefined || value <= threshold;
  return {
    name,
    description,
    ...(Number.isFinite(value) ? { value } : { reason: `the value is ${value > 0 ? '+' : '−'}∞` }),
    ...(threshold === undefined ? {} : { threshold }),
    comparator: '<=',
    gate,
    status: passed ? 'passed' : 'failed',
    passed: passed || !gate,
  };
}

/**
 * A criterion with its 95 % interval; when `gateOnBound` is given (the spec's gateOn: upperBound),
 * it passes only if the interval's farthest end is within that tolerance.
 */
function withInterval(criterion: Criterion, ci: [number, number], gateOnBound?: number): Criterion {
  if (!ci.every(Number.isFinite)) return criterion;
  const withCi = { ...criterion, ci95: ci };
  if (gateOnBound === undefined || criterion.status === 'notApplicable') return withCi;
  const bound = Math.max(Math.abs(ci[0]), Math.abs(ci[1]));
  const passed = criterion.status === 'passed' && bound <= gateOnBound;
  return { ...withCi, description: `${criterion.description}; gated on the interval's bound ${fmt(bound)}`, status: passed ? 'passed' : 'failed', passed: passed || !criterion.gate };
}

function classesOf(side: SideColumns): number[] {
  return side.classes ? [...side.classes] : Array.from({ length: side.columns ?? 0 }, (_, k) => k);
}

/** A holdout label the model cannot serve makes accuracy and AUC meaningless: refused, naming the labels. */
function checkHoldoutLabels(which: string, side: SideColumns, classes: number[]): void {
  if (!side.classes) return; // column positions stand in for classes the model does not name: nothing to check against
  const known = new Set(classes);
  const unknown = new Set<number>();
  for (const v of side.truth) if (!known.has(v) && unknown.size < 10) unknown.add(v);
  if (unknown.size > 0) {
    throw new ShadowInputError(
      `the holdout's labels include ${[...unknown].map((v) => (side.classNames ? `a label that is none of its classes (code ${v})` : String(v))).join(', ')}, which the ${which} model cannot serve (its classes are ${classes.slice(0, 20).map((c) => classLabel(side, c)).join(', ')}${classes.length > 20 ? ', …' : ''}): check workload.holdout.label and that the holdout belongs to this model`,
    );
  }
}

/**
 * The whole probability vector, columns matched by the class they stand for: the mean over rows
 * of the largest per-class difference. Models that serve different class sets fail it outright.
 */
function probabilityCriterion(source: SideColumns, target: SideColumns, sourceClasses: number[], targetClasses: number[], tolerance: number): Criterion {
  const name = 'probabilityDelta';
  const description = 'mean over rows of the largest per-class probability difference (columns matched by class label)';
  const sameSet = sourceClasses.length === targetClasses.length && sourceClasses.every((c) => targetClasses.includes(c));
  if (!sameSet) {
    return { name, description, threshold: tolerance, comparator: '<=', gate: true, status: 'failed', passed: false, reason: `the models serve different classes: source ${sourceClasses.map((c) => classLabel(source, c)).join(', ')}, target ${targetClasses.map((c) => classLabel(target, c)).join(', ')}` };
  }
  const width = sourceClasses.length;
  const targetColumn = sourceClasses.map((c) => targetClasses.indexOf(c));
  let sum = 0;
  let max = 0;
  const n = source.scores.length;
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let k = 0; k < width; k++) row = Math.max(row, Math.abs(source.probabilities![i * width + k]! - target.probabilities![i * width + targetColumn[k]!]!));
    sum += row;
    max = Math.max(max, row);
  }
  const mean = n ? sum / n : 0;
  return { ...atMost(name, `${description}; largest in one row ${fmt(max)}`, mean, tolerance, true) };
}

function firstRows(n: number, bad: (i: number) => boolean): { count: number; rows: number[] } {
  let count = 0;
  const rows: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!bad(i)) continue;
    count++;
    if (rows.length < MAX_ROWS_NAMED) rows.push(i);
  }
  return { count, rows };
}

const sameNumber = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

/** A number for a sentence: never throws, whatever the value. */
export function fmt(v: number | undefined | null): string {
  if (typeof v !== 'number' || Number.isNaN(v)) return 'n/a';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3);
}

function differences(a: Float64Array, b: Float64Array): Float64Array {
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = b[i]! - a[i]!;
  return d;
}

/** Shared equal-width bins over all series, for overlaid plots. Non-finite values are left out. */
export function histogram(series: Float64Array[], bins = 40): Histogram {
  let lo = Infinity;
  let hi = -Infinity;
  for (const values of series) for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return { edges: [], counts: series.map(() => []) };
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const width = (hi - lo) / bins;
  if (!Number.isFinite(width) || width === 0) return { edges: [], counts: series.map(() => []) };
  const edges = Array.from({ length: bins + 1 }, (_, k) => lo + k * width);
  const counts = series.map((values) => {
    const c = new Array<number>(bins).fill(0);
    for (const v of values) if (Number.isFinite(v)) c[Math.min(bins - 1, Math.floor((v - lo) / width))]!++;
    return c;
  });
  return { edges, counts };
}
