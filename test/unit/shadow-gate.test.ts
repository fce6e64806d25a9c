/**
 * The shadow gate on pairs no one tuned it on: permuted class labels, NaN anywhere, a one-class
 * holdout, exact-boundary flips, units, and reports a workflow must survive. Generated model pairs
 * (scripts/models/make_gate_pairs.py) run through real ONNX Runtime sessions and the real report.
 */
import { createReadStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalFsStore } from '../../src/clouds/local-store.js';
import { allowedRows, buildShadowReport, type ReportInput, type SideColumns } from '../../src/compare/report.js';
import { readPredictions } from '../../src/inference/predictions.js';
import { runShadowSide } from '../../src/shadow/run.js';
import { migrationSpecSchema } from '../../src/spec.js';
import { readShadowVerdict } from '../../src/workflows/verdict.js';
import { GATE_PAIRS_DIR, type GatePair, gatePairs } from '../support/gate-pairs.js';

const defaults = migrationSpecSchema.parse({ name: 'x', source: { cloud: 'aws', profile: 'p', bucket: 'aaa' }, target: { cloud: 'gcp', profile: 'p', bucket: 'bbb' } }).shadow;
const f64 = (xs: ArrayLike<number>) => Float64Array.from(xs);


/** A binary classifier's columns from served labels and positive-class probabilities. */
function binary(truth: number[], labels: number[], p1: number[]): SideColumns {
  return { truth: f64(truth), labels: f64(labels), scores: f64(p1), probabilities: Float32Array.from(p1.flatMap((p) => [1 - p, p])), columns: 2, classes: [0, 1] };
}

function report(source: SideColumns, target: SideColumns, shadow: Partial<ReportInput['shadow']> = {}, task: ReportInput['task'] = 'binary') {
  return buildShadowReport({ migration: 'm', task, source, target, shadow: { ...defaults, ...shadow, tolerances: { ...defaults.tolerances, ...shadow.tolerances } } });
}

/** n rows, alternating classes, the source right on every row; the target flips `flips` of them. */
function flipped(n: number, flips: number) {
  const truth = Array.from({ length: n }, (_, i) => i % 2);
  const p = truth.map((t) => (t ? 0.9 : 0.1));
  const source = binary(truth, truth, p);
  const labels = truth.map((t, i) => (i < flips ? 1 - t : t));
  // The flipped rows' probabilities move only a little, so the continuous criteria stay within tolerance.
  const q = labels.map((l, i) => (i < flips ? (l ? 0.5001 : 0.4999) : p[i]!));
  return { source, target: binary(truth, labels, q) };
}

describe('counts decide the count criteria, ties pass', () => {
  it('allows ⌊tol·n⌋ rows, with decimal tolerances read as written', () => {
    expect(allowedRows(0.001, 2000)).toBe(2);
    expect(allowedRows(0.001, 3000)).toBe(3);
    expect(allowedRows(1 - 0.999, 2000)).toBe(2);
    expect(allowedRows(1 - 0.9, 10)).toBe(1);
    expect(allowedRows(0.001, 999)).toBe(0);
  });

  it('2 changed rows of 2,000 pass accuracy and agreement at 0.1 %; 3 fail both', () => {
    const tie = flipped(2000, 2);
    const atTolerance = report(tie.source, tie.target, { tolerances: { ...defaults.tolerances, maxProbabilityDelta: 0.01, maxMeanRelativeDiff: 0.01 } });
    expect(atTolerance.criteria.find((c) => c.name === 'accuracyDelta')).toMatchObject({ status: 'passed', count: { observed: 2, allowed: 2, rows: 2000 } });
    expect(atTolerance.criteria.find((c) => c.name === 'labelAgreement')).toMatchObject({ status: 'passed', count: { observed: 2, allowed: 2 } });
    expect(atTolerance.verdict).toBe('passed');
    const over = flipped(2000, 3);
    const beyond = report(over.source, over.target, { tolerances: { ...defaults.tolerances, maxProbabilityDelta: 0.01, maxMeanRelativeDiff: 0.01 } });
    expect(beyond.failed).toEqual(expect.arrayContaining(['accuracyDelta', 'labelAgreement']));
  });

  it('gates on the 95 % bound when the spec asks: 2 of 2,000 is within 0.1 % but its interval is not', () => {
    const tie = flipped(2000, 2);
    const r = report(tie.source, tie.target, { gateOn: 'upperBound', tolerances: { ...defaults.tolerances, maxProbabilityDelta: 0.01, maxMeanRelativeDiff: 0.01 } });
    expect(r.criteria.find((c) => c.name === 'accuracyDelta')!.description).toMatch(/upper bound of the discordant share, 0\.003/);
    expect(r.failed).toEqual(expect.arrayContaining(['accuracyDelta', 'labelAgreement']));
  });

  it('says inconclusive when one row is more than the tolerance', () => {
    const small = flipped(200, 0);
    const r = report(small.source, small.target);
    expect(r.verdict).toBe('inconclusive');
    expect(r.inconclusive[0]).toMatch(/one row is 0\.005000 of 200 rows, more than the accuracy tolerance 0\.001/);
    expect(r.resolution).toBe(1 / 200);
    expect(report(small.source, small.target, { tolerances: { ...defaults.tolerances, maxMetricDelta: 0.005, minLabelAgreement: 0.995 } }).verdict).toBe('passed');
  });
});

describe('what is served is compared', () => {
  it('fails a model that serves the other class for every row although its columns are unchanged', () => {
    const truth = Array.from({ length: 2000 }, (_, i) => i % 2);
    const p = truth.map((t) => (t ? 0.8 : 0.2));
    const source = binary(truth, truth, p);
    // Permuted classlabels: column 1 now stands for class 0, and the label output says so.
    const target: SideColumns = { ...binary(truth, truth.map((t) => 1 - t), p), classes: [1, 0] };
    const r = report(source, target);
    expect(r.failed).toEqual(expect.arrayContaining(['accuracyDelta', 'labelAgreement', 'probabilityDelta']));
    expect(r.metrics.find((m) => m.name === 'accuracy')).toMatchObject({ source: 1, target: 0 });
  });

  it('compares the whole probability vector of a multiclass model, matched by class', () => {
    const truth = Array.from({ length: 3000 }, (_, i) => i % 3);
    const vector = (t: number) => [0, 1, 2].map((k) => (k === t ? 0.6 : 0.2));
    const side = (probs: number[][], classes: number[]): SideColumns => ({
      truth: f64(truth),
      labels: f64(truth),
      scores: f64(truth.map(() => 0.6)),
      probabilities: Float32Array.from(probs.flat()),
      columns: 3,
      classes,
    });
    const source = side(truth.map(vector), [0, 1, 2]);
    // The same model exported with its classes in another order: same served answers, columns permuted.
    const reordered = side(truth.map((t) => { const v = vector(t); return [v[2]!, v[0]!, v[1]!]; }), [2, 0, 1]);
    expect(report(source, reordered, {}, 'multiclass').verdict).toBe('passed');
    // The losing classes' probabilities move by 0.05 while the winner and label stay: only the vector shows it.
    const shifted = side(truth.map((t) => [0, 1, 2].map((k) => (k === t ? 0.6 : k === (t + 1) % 3 ? 0.25 : 0.15))), [0, 1, 2]);
    expect(report(source, shifted, {}, 'multiclass').failed).toEqual(['probabilityDelta']);
  });

  it('refuses a holdout whose labels the model cannot serve, naming them', () => {
    const truth = Array.from({ length: 2000 }, (_, i) => 1 + (i % 2));
    const side = binary(truth, truth.map((t) => t - 1), truth.map((t) => (t === 2 ? 0.9 : 0.1)));
    expect(() => report(side, side)).toThrow(/the holdout's labels include 2, which the source model cannot serve \(its classes are 0, 1\)/);
  });
});

describe('non-finite and undefined statistics', () => {
  it('names non-finite rows per side and computes nothing from them', () => {
    const { source, target } = flipped(2000, 0);
    const scores = Float64Array.from(target.scores);
    scores[7] = Number.NaN;
    scores[1500] = Number.POSITIVE_INFINITY;
    const r = report(source, { ...target, scores });
    expect(r.verdict).toBe('failed');
    expect(r.failed).toEqual(['finiteValues']);
    const finite = r.criteria.find((c) => c.name === 'finiteValues')!;
    expect(finite).toMatchObject({ value: 2, status: 'failed' });
    expect(finite.description).toMatch(/source 0, target 2 \(first rows 7, 1500\)/);
    expect(r.criteria.filter((c) => c.status === 'notApplicable').length).toBeGreaterThan(3);
    // Nothing in the report is NaN or infinite: JSON would turn it into null.
    expect(JSON.stringify(r)).not.toMatch(/null/);
  });

  it('marks AUC not applicable on a one-class holdout and still gates the rest', () => {
    const truth = new Array<number>(2000).fill(1);
    const side = binary(truth, truth, truth.map(() => 0.9));
    const r = report(side, side);
    expect(r.criteria.find((c) => c.name === 'aucDelta')).toMatchObject({ status: 'notApplicable', gate: false, reason: expect.stringMatching(/one class/) });
    expect(r.verdict).toBe('passed');
    expect(JSON.stringify(r)).not.toMatch(/null/);
  });

  it('a NaN label in the holdout is a named failure too', () => {
    const { source, target } = flipped(2000, 0);
    const truth = Float64Array.from(source.truth);
    truth[3] = Number.NaN;
    const r = report({ ...source, truth }, { ...target, truth });
    expect(r.failed).toEqual(['finiteValues']);
  });

  it('an empty holdout is inconclusive, not a crash', () => {
    const empty = binary([], [], []);
    const r = report(empty, empty);
    expect(r.verdict).toBe('inconclusive');
    expect(JSON.stringify(r)).not.toMatch(/null/);
  });
});

describe('the regression criterion does not depend on units', () => {
  it.each([1, 1e-7, 1e7, 1e300 / 400])('gives one verdict for a ×(1 + 5e-3) change at scale %s', (scale) => {
    const y = Array.from({ length: 2000 }, (_, i) => (100 + (i % 50)) * scale);
    const source: SideColumns = { truth: f64(y.map((v, i) => v * (1 + ((i % 7) - 3) * 0.01))), scores: f64(y) };
    const target: SideColumns = { ...source, scores: f64(y.map((v) => v * (1 + 5e-3))) };
    const r = report(source, target, {}, 'regression');
    expect(r.failed).toContain('relativeL2Diff');
    expect(r.criteria.find((c) => c.name === 'relativeL2Diff')!.value).toBeCloseTo(5e-3, 12);
    const same = report(source, { ...source }, {}, 'regression');
    expect(same.verdict).toBe('passed');
    expect(JSON.stringify(same)).not.toMatch(/null/);
  });
});

describe('a workflow reads any verdict without throwing', () => {
  it.each([
    ['a null value', { passed: false, failed: ['aucDelta'], criteria: [{ name: 'aucDelta', value: null, threshold: 0.001, comparator: '<=', gate: true, passed: false }], reportHtml: 'r', rows: 10 }],
    ['a NaN value', { passed: false, criteria: [{ name: 'x', value: Number.NaN, gate: true, passed: false }], reportHtml: 'r', rows: 1 }],
    ['no criteria', { passed: false }],
    ['a string', 'nonsense'],
    ['null', null],
    ['criteria of the wrong type', { passed: true, criteria: 'oops', reportHtml: 5 }],
  ])('%s', (_, raw) => {
    const read = readShadowVerdict(raw);
    expect(['passed', 'failed', 'inconclusive']).toContain(read.kind);
    expect(read.failures.join(', ')).not.toMatch(/undefined/);
    if (raw === null || typeof raw !== 'object' || !(raw as { passed?: boolean }).passed) expect(read.kind).toBe('failed');
  });
});

describe('generated model pairs through real ONNX Runtime sessions', () => {
  const dir = GATE_PAIRS_DIR;
  const { features: binaryFeatures, pairs } = gatePairs();
  const store = new LocalFsStore(mkdtempSync(join(tmpdir(), 'cs-gate-')), 'pairs');
  beforeAll(async () => {
    await store.ensureContainer();
    for (const file of new Set(pairs.flatMap((p) => [p.source, p.target, p.holdout]))) await store.write(file, createReadStream(join(dir, file)));
  });
  const run = async (pair: GatePair, model: string, out: string, nonFinite: 'fail' | 'skip' = 'fail'): Promise<SideColumns> => {
    const result = await runShadowSide({
      store,
      modelKey: model,
      holdoutKey: pair.holdout,
      predictionsKey: out,
      holdout: { path: pair.holdout, format: pair.format, features: pair.features ?? binaryFeatures, label: 'label', task: pair.task, nonFinite },
      executionProvider: 'cpu',
      batchSize: 256,
      measureNoise: true,
    });
    const columns = await readPredictions(await store.read(out), result.rows, out);
    return { ...columns, ...(result.classes ? { classes: result.classes } : {}) };
  };

  it('covers every class of pair the gate was wrong on', () => {
    expect(pairs.length).toBeGreaterThanOrEqual(18);
  });

  it.each(pairs.map((p) => [p.name, p] as const))('%s', { timeout: 30_000 }, async (_, pair) => {
    if (pair.verdict === 'holdoutNonFinite') {
      // The holdout's problem, the same in every format: refused naming the row, or left out on both sides.
      await expect(run(pair, pair.source, `${pair.name}-s.bin`)).rejects.toMatchObject({ type: 'HoldoutNonFinite', message: expect.stringMatching(/^holdout row \d+: column \w+ is (NaN|\+∞|−∞)/) });
      const [source, target] = [await run(pair, pair.source, `${pair.name}-s.bin`, 'skip'), await run(pair, pair.target, `${pair.name}-t.bin`, 'skip')];
      const r = report(source, target, { tolerances: { ...defaults.tolerances, ...pair.tolerances } }, pair.task);
      expect(r.criteria.find((c) => c.name === 'finiteValues')?.status).toBe('passed');
      return;
    }
    const source = await run(pair, pair.source, `${pair.name}-s.bin`);
    const target = await run(pair, pair.target, `${pair.name}-t.bin`);
    const judge = () => report(source, target, { tolerances: { ...defaults.tolerances, ...pair.tolerances } }, pair.task);
    if (pair.verdict === 'refused') {
      expect(judge).toThrow(/cannot serve/);
      return;
    }
    const r = judge();
    expect({ verdict: r.verdict, failed: [...r.failed].sort() }).toEqual({ verdict: pair.verdict, failed: [...pair.failed].sort() });
    expect(JSON.stringify(r)).not.toMatch(/null/);
  });
});
