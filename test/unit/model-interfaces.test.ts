/**
 * The models people export, through real ONNX Runtime sessions and the real report: skl2onnx's
 * default ZipMap, string class labels, two inputs, int64 inputs, label-only classifiers
 * (scripts/models/make_interface_pairs.py, each with its verdict decided from first principles),
 * and each interface the holdout cannot feed refused before the first batch, non-retryably, saying
 * what to do. The holdout's NaN and ∞ follow one rule in every format.
 */
import { createReadStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalFsStore } from '../../src/clouds/local-store.js';
import { buildShadowReport, type SideColumns } from '../../src/compare/report.js';
import { classCode } from '../../src/inference/class-codes.js';
import { readHoldout, type HoldoutSchema, type SkippedRows } from '../../src/inference/holdout.js';
import { readPredictions } from '../../src/inference/predictions.js';
import { runShadowSide } from '../../src/shadow/run.js';
import { migrationSpecSchema } from '../../src/spec.js';

const DIR = join(import.meta.dirname, '../fixtures/interface-pairs');
interface Pair {
  name: string;
  task: 'binary';
  source: string;
  target: string;
  holdout: string;
  format: 'csv';
  tolerances: { maxMetricDelta: number; minLabelAgreement: number };
  verdict: 'passed' | 'failed';
  /** The criteria decided from the labels alone; a failing pair may fail more. */
  failed: string[];
  changedLabels: number;
  inputs?: Record<string, string[]>;
  labelOnly?: boolean;
}
interface Refused {
  name: string;
  model: string;
  holdout: string;
  features: string[];
  error: string;
}
const { features, pairs, refused } = JSON.parse(readFileSync(join(DIR, 'pairs.json'), 'utf8')) as { features: string[]; pairs: Pair[]; refused: Refused[] };
const defaults = migrationSpecSchema.parse({ name: 'x', source: { cloud: 'aws', profile: 'p', bucket: 'aaa' }, target: { cloud: 'gcp', profile: 'p', bucket: 'bbb' } }).shadow;

const store = new LocalFsStore(mkdtempSync(join(tmpdir(), 'cs-interfaces-')), 'pairs');
beforeAll(async () => {
  await store.ensureContainer();
  for (const file of new Set([...pairs.flatMap((p) => [p.source, p.target, p.holdout]), ...refused.flatMap((r) => [r.model, r.holdout])])) await store.write(file, createReadStream(join(DIR, file)));
});

async function side(model: string, holdout: string, out: string, options: { features?: string[]; inputs?: Record<string, string[]> } = {}) {
  const result = await runShadowSide({
    store,
    modelKey: model,
    holdoutKey: holdout,
    predictionsKey: out,
    holdout: { path: holdout, format: 'csv', features: options.features ?? features, label: 'label', task: 'binary', nonFinite: 'fail', ...(options.inputs ? { inputs: options.inputs } : {}) },
    executionProvider: 'cpu',
    batchSize: 128,
    measureNoise: false,
  });
  const columns = await readPredictions(await store.read(out), result.rows, out);
  return { result, columns: { ...columns, ...(result.classes ? { classes: result.classes } : {}) } as SideColumns };
}

describe('the models people export', () => {
  it.each(pairs.map((p) => [p.name, p] as const))('%s', { timeout: 30_000 }, async (_, pair) => {
    const source = await side(pair.source, pair.holdout, `${pair.name}-s.bin`, { inputs: pair.inputs });
    // A pair of two interfaces: the target is read as its own model is, mapped only where it has several inputs.
    const targetInputs = pair.target === pair.source ? pair.inputs : undefined;
    const target = await side(pair.target, pair.holdout, `${pair.name}-t.bin`, { inputs: targetInputs });
    const report = buildShadowReport({ migration: 'm', task: pair.task, source: source.columns, target: target.columns, shadow: { ...defaults, tolerances: { ...defaults.tolerances, ...pair.tolerances } } });
    expect(report.verdict).toBe(pair.verdict);
    expect(report.failed).toEqual(pair.verdict === 'passed' ? [] : expect.arrayContaining(pair.failed));
    const disagreeing = report.criteria.find((c) => c.name === 'labelAgreement')!.count!.observed;
    expect(disagreeing).toBe(pair.changedLabels);
    if (pair.labelOnly) {
      // Judged on the labels; what needs a score says why it was not computed.
      for (const name of ['aucDelta', 'probabilityDelta', 'meanRelativeDiff', 'ksStatistic']) {
        expect(report.criteria.find((c) => c.name === name)).toMatchObject({ status: 'notApplicable', reason: expect.stringMatching(/serves? labels only \(no probability output\)/) });
      }
    }
  });

  it('reads a ZipMap as the probabilities it maps, columns in its class order, and string classes by their names', async () => {
    const zipmap = await side('zipmap.onnx', 'holdout.csv', 'z.bin');
    const plain = await side('plain.onnx', 'holdout.csv', 'p.bin');
    expect(zipmap.columns.probabilities).toEqual(plain.columns.probabilities);
    expect(zipmap.result.classes).toEqual([0, 1]);
    const words = await side('strings-zipmap.onnx', 'holdout-strings.csv', 'w.bin');
    expect(words.result.classNames).toEqual(['fraud', 'ok']);
    expect(words.result.classes).toEqual([classCode('fraud'), classCode('ok')]);
    // The holdout's words coded alike: the served labels are right where the integer model's are.
    const right = (c: SideColumns) => c.labels!.reduce((n, l, i) => n + (l === c.truth[i] ? 1 : 0), 0);
    expect(right(words.columns)).toBe(right(plain.columns));
  });
});

describe('an interface the holdout cannot feed is refused before the first batch, non-retryably', () => {
  it.each(refused.map((r) => [r.name, r] as const))('%s', async (_, r) => {
    const started = performance.now();
    const error = await side(r.model, r.holdout, `${r.name}.bin`, { features: r.features }).catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'ModelInterfaceMismatch', message: expect.stringContaining(r.error) });
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('names the inputs and says how to map them', async () => {
    const error = (await side('two-inputs.onnx', 'holdout.csv', 'two.bin').catch((e: unknown) => e)) as Error;
    expect(error.message).toBe(
      'the model has 2 inputs (num_a float32 [?, 3]; num_b float32 [?, 3]) and the holdout\'s columns cannot be matched to them by name; map them with workload.holdout.inputs, e.g. { num_a: [...], num_b: [...] }',
    );
    const wrong = (await side('two-inputs.onnx', 'holdout.csv', 'two.bin', { inputs: { num_a: ['f0', 'f1'], num_b: ['f3', 'f4', 'f5'] } }).catch((e: unknown) => e)) as Error;
    expect(wrong.message).toBe('the model\'s input num_a float32 [?, 3] takes 3 values a row; workload.holdout.inputs.num_a gives it 2');
  });

  it('refuses a fraction fed to an int64 input, naming the row, instead of truncating it', async () => {
    const error = await side('int64.onnx', 'holdout.csv', 'int.bin').catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'ModelInterfaceMismatch', message: expect.stringMatching(/^the model's input X is int64, but holdout row 1 gives it -?\d+\.\d+ .*use whole numbers in the holdout, or export the model with float inputs/) });
  });
});

describe('one rule for NaN and ∞ in a holdout, whatever its format', () => {
  const schema = (format: HoldoutSchema['format'], nonFinite: 'fail' | 'skip' = 'fail'): HoldoutSchema => ({ format, features: ['a', 'b'], label: 'y', nonFinite });
  const npy = (rows: number[][]) => {
    const header = `{'descr': '<f8', 'fortran_order': False, 'shape': (${rows.length}, 3), }`;
    const padded = header.padEnd(117, ' ') + '\n';
    return Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, 118, 0]), Buffer.from(padded), Buffer.from(Float64Array.from(rows.flat()).buffer)]);
  };
  const files: [HoldoutSchema['format'], string, Buffer][] = [
    ['csv', 'empty cell', Buffer.from('a,b,y\n1,2,0\n3,,1\n5,6,0\n')],
    ['csv', 'nan', Buffer.from('a,b,y\n1,2,0\n3,nan,1\n5,6,0\n')],
    ['csv', '-inf', Buffer.from('a,b,y\n1,2,0\n3,-inf,1\n5,6,0\n')],
    ['csv', 'Infinity', Buffer.from('a,b,y\n1,2,0\n3,Infinity,1\n5,6,0\n')],
    ['jsonl', 'null', Buffer.from('{"a":1,"b":2,"y":0}\n{"a":3,"b":null,"y":1}\n{"a":5,"b":6,"y":0}\n')],
    ['jsonl', 'NaN as Python writes it', Buffer.from('{"a": 1, "b": 2, "y": 0}\n{"a": 3, "b": NaN, "y": 1}\n{"a": 5, "b": 6, "y": 0}\n')],
    ['jsonl', '-Infinity as Python writes it', Buffer.from('{"a": 1, "b": 2, "y": 0}\n{"a": 3, "b": -Infinity, "y": 1}\n{"a": 5, "b": 6, "y": 0}\n')],
    ['npy', 'NaN', npy([[1, 2, 0], [3, Number.NaN, 1], [5, 6, 0]])],
  ];

  it.each(files.map(([format, what, bytes]) => [`${format}: ${what}`, format, bytes] as const))('%s fails on row 2, column b, or is left out under skip', async (_, format, bytes) => {
    const read = async (nonFinite: 'fail' | 'skip') => {
      const skipped: SkippedRows = { count: 0, rows: [] };
      const batches = [];
      for await (const batch of readHoldout(Readable.from([bytes]), schema(format, nonFinite), 16, skipped)) batches.push(batch);
      return { rows: batches.flatMap((b) => Array.from(b.labels)), skipped };
    };
    await expect(read('fail')).rejects.toMatchObject({ type: 'HoldoutNonFinite', message: expect.stringMatching(/^holdout row 2: column b is (NaN \(or empty\)|\+∞|−∞)\. .*workload\.holdout\.nonFinite: skip/) });
    expect(await read('skip')).toEqual({ rows: [0, 0], skipped: { count: 1, rows: [2] } });
  });

  it('still refuses text that is no number at all as a format error', async () => {
    const read = async (bytes: string, format: HoldoutSchema['format']) => {
      for await (const _ of readHoldout(Readable.from([Buffer.from(bytes)]), schema(format), 16));
    };
    await expect(read('a,b,y\n1,abc,0\n', 'csv')).rejects.toMatchObject({ type: 'HoldoutFormatError', message: 'holdout line 2: column b is not a number' });
    await expect(read('{"a":1,"b":"abc","y":0}\n', 'jsonl')).rejects.toMatchObject({ type: 'HoldoutFormatError' });
  });

  it('reads string labels as their codes in CSV and JSONL, quoted or not', async () => {
    const labels = async (bytes: string, format: HoldoutSchema['format']) => {
      const out: number[] = [];
      for await (const b of readHoldout(Readable.from([Buffer.from(bytes)]), { ...schema(format), stringLabels: true }, 16)) out.push(...b.labels);
      return out;
    };
    const expected = [classCode('fraud'), classCode('ok'), classCode('o,k')];
    expect(await labels('a,b,y\n1,2,fraud\n3,4,"ok"\n', 'csv')).toEqual(expected.slice(0, 2));
    expect(await labels('{"a":1,"b":2,"y":"fraud"}\n{"a":1,"b":2,"y":"ok"}\n{"a":1,"b":2,"y":"o,k"}\n', 'jsonl')).toEqual(expected);
  });
});

describe('string classes in what the report says', () => {
  it('names the classes by their words, not their codes', async () => {
    const words = await side('strings.onnx', 'holdout-strings.csv', 'names.bin');
    const columns = { ...words.columns, classNames: words.result.classNames! };
    // A holdout of other words: refused, naming the model's classes as words.
    const truth = Float64Array.from(columns.truth, () => classCode('maybe'));
    expect(() => buildShadowReport({ migration: 'm', task: 'binary', source: { ...columns, truth }, target: { ...columns, truth }, shadow: defaults })).toThrow(/its classes are "fraud", "ok"/);
  });
});
