/**
 * The shipped models on onnxruntime-node's CPU build: holdout readers, predictions, the CUDA
 * fallback, and that the committed variants sit on the right side of the 0.1 % gate.
 */
import { createReadStream, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { accuracy, agreement, pairedDifferences, rmse } from '../../src/compare/statistics.js';
import { type HoldoutBatch, readHoldout } from '../../src/inference/holdout.js';
import { npyHeader } from '../../src/inference/npy.js';
import { cudaProviderHint, ExecutionProviderUnavailable, loadSession, missingLibraries, openModel, predict } from '../../src/inference/session.js';

const assets = join(import.meta.dirname, '../../assets');
const model = (name: string) => new Uint8Array(readFileSync(join(assets, name)));
const CANCER = { format: 'csv' as const, features: Array.from({ length: 30 }, (_, i) => `f${i}`), label: 'label' };
const DIABETES = { format: 'jsonl' as const, features: ['age', 'sex', 'bmi', 'bp', 's1', 's2', 's3', 's4', 's5', 's6'], label: 'target' };

async function run(modelName: string, holdout: string, schema: typeof CANCER | typeof DIABETES, batchSize = 64) {
  const { session, iface } = await openModel(model(modelName), { executionProvider: 'cpu' });
  const scores: number[] = [];
  const labels: number[] = [];
  const truth: number[] = [];
  for await (const batch of readHoldout(createReadStream(join(assets, holdout)), schema, batchSize)) {
    const out = await predict(session, iface, batch.features, batch.rows);
    scores.push(...out.scores);
    if (out.labels) labels.push(...out.labels);
    truth.push(...batch.labels);
  }
  return { scores: Float64Array.from(scores), labels, truth };
}

describe('inference on the shipped models', () => {
  it('reproduces scikit-learn holdout accuracy (0.97) on the classifier, in any batch size', async () => {
    const a = await run('breast-cancer.onnx', 'breast-cancer-holdout.csv', CANCER, 64);
    const b = await run('breast-cancer.onnx', 'breast-cancer-holdout.csv', CANCER, 7);
    expect(a.truth).toHaveLength(200);
    expect(accuracy(a.truth, a.labels)).toBeCloseTo(0.97, 10);
    expect(pairedDifferences(a.scores, b.scores).absolute.max).toBeLessThan(1e-6);
  });

  it('the identical and slightly perturbed models pass the 0.1 % criteria, the strong one fails', async () => {
    const base = await run('breast-cancer.onnx', 'breast-cancer-holdout.csv', CANCER);
    const copy = await run('breast-cancer-copy.onnx', 'breast-cancer-holdout.csv', CANCER);
    const slight = await run('breast-cancer-slight.onnx', 'breast-cancer-holdout.csv', CANCER);
    const strong = await run('breast-cancer-strong.onnx', 'breast-cancer-holdout.csv', CANCER);
    expect(pairedDifferences(base.scores, copy.scores).absolute.max).toBe(0);
    const s = pairedDifferences(base.scores, slight.scores);
    expect(s.relative.mean).toBeLessThan(0.001);
    expect(agreement(base.labels, slight.labels)).toBeGreaterThanOrEqual(0.999);
    const f = pairedDifferences(base.scores, strong.scores);
    const failsSomething =
      f.relative.mean > 0.001 || agreement(base.labels, strong.labels) < 0.999 || Math.abs(accuracy(base.truth, base.labels) - accuracy(strong.truth, strong.labels)) > 0.001;
    expect(failsSomething).toBe(true);
    expect(f.relative.mean).toBeGreaterThan(0.001);
  });

  it('reads a JSON-lines holdout for the regressor; variants split around the gate', async () => {
    const base = await run('diabetes.onnx', 'diabetes-holdout.jsonl', DIABETES);
    expect(base.scores).toHaveLength(133);
    expect(rmse(base.truth, base.scores)).toBeGreaterThan(40);
    expect(rmse(base.truth, base.scores)).toBeLessThan(70);
    const slight = await run('diabetes-slight.onnx', 'diabetes-holdout.jsonl', DIABETES);
    const strong = await run('diabetes-strong.onnx', 'diabetes-holdout.jsonl', DIABETES);
    expect(pairedDifferences(base.scores, slight.scores).relative.mean).toBeLessThan(0.001);
    expect(pairedDifferences(base.scores, strong.scores).relative.mean).toBeGreaterThan(0.001);
  });

  it('falls back to CPU under auto, saying why, and fails clearly under cuda, where CUDA is missing', async () => {
    const lines: string[] = [];
    const auto = await loadSession(model('breast-cancer.onnx'), { executionProvider: 'auto', log: (l) => lines.push(l) });
    expect(auto.provider).toBe('cpu');
    expect(auto.fallbackReason).toMatch(/\S{5,}/);
    expect(lines).toEqual([expect.stringMatching(/^ONNX Runtime: CUDA unavailable \(.+\); running on CPU$/)]);
    const error = await loadSession(model('breast-cancer.onnx'), { executionProvider: 'cuda' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionProviderUnavailable);
    expect((error as Error).message).toMatch(/"cuda" was asked for.*set shadow\.executionProvider to "auto" or "cpu"/);
    // Whether or not scripts/install-cuda.sh ran on this host, the reason says which it is.
    expect((error as Error).message).toMatch(/CUDA provider for onnxruntime-node [\d.]+ is not installed here \(bash scripts\/install-cuda\.sh|CUDA provider is installed, but/);
  });

  it('says whether the CUDA provider is absent or which libraries it lacks', () => {
    expect(cudaProviderHint(mkdtempSync(join(tmpdir(), 'cs-ort-')))).toMatch(/^the CUDA provider for onnxruntime-node [\d.]+ is not installed here \(bash scripts\/install-cuda\.sh installs it\)$/);
    const ldd = [
      '\tlinux-vdso.so.1 (0x00007ffd5a1e2000)',
      '\tlibcublasLt.so.13 => not found',
      '\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f0e1c2a0000)',
      '\tlibcudart.so.13 => not found',
    ].join('\n');
    expect(missingLibraries(ldd)).toEqual(['libcublasLt.so.13', 'libcudart.so.13']);
  });

  it('names a missing holdout column', async () => {
    const rows = readHoldout(createReadStream(join(assets, 'breast-cancer-holdout.csv')), { ...CANCER, label: 'diagnosis' }, 10);
    await expect(rows.next()).rejects.toThrow(/lacks column\(s\) diagnosis/);
  });
});

describe('the .npy holdout reader', () => {
  const fixtures = join(import.meta.dirname, '../fixtures');
  const NPY = { ...CANCER, format: 'npy' as const };
  async function all(batches: AsyncGenerator<HoldoutBatch>) {
    const features: number[] = [];
    const labels: number[] = [];
    for await (const batch of batches) {
      features.push(...batch.features);
      labels.push(...batch.labels);
    }
    return { features, labels };
  }
  // Tiny chunks: rows, values and even the header split across chunk boundaries.
  const chunked = (bytes: Buffer, size: number) => Readable.from(Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)));

  it('reads what numpy.save wrote (float64 and float32) as the CSV reader reads the same rows', async () => {
    const csv = await all(readHoldout(createReadStream(join(assets, 'breast-cancer-holdout.csv')), CANCER, 64));
    for (const file of ['breast-cancer-holdout-f8.npy', 'breast-cancer-holdout-f4.npy']) {
      const bytes = readFileSync(join(fixtures, file));
      expect(await all(readHoldout(Readable.from([bytes]), NPY, 64)), file).toEqual(csv);
      expect(await all(readHoldout(chunked(bytes, 37), NPY, 7)), `${file} in 37-byte chunks`).toEqual(csv);
    }
  });

  it('refuses a wrong column count, another element type, Fortran order and a truncated file, saying what to do', async () => {
    const bytes = readFileSync(join(fixtures, 'breast-cancer-holdout-f4.npy'));
    const first = async (body: Readable, schema = NPY) => readHoldout(body, schema, 64).next();
    await expect(first(Readable.from([bytes]), { ...NPY, features: NPY.features.slice(1) })).rejects.toThrow(
      /has 31 columns; workload\.holdout\.features names 29, so expected 30 \(the features in that order, then label\)/,
    );
    const header = (dict: string) => {
      const h = npyHeader('float32', 1, 31);
      h.write(dict.padEnd(h.length - 11), 10, 'latin1');
      return h;
    };
    await expect(first(Readable.from([header("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 31), }")]))).rejects.toThrow(/holds '<i8'; a holdout must be little-endian float32/);
    await expect(first(Readable.from([header("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 31), }")]))).rejects.toThrow(/Fortran order/);
    await expect(first(Readable.from([header("{'descr': '<f4', 'fortran_order': False, 'shape': (31,), }")]))).rejects.toThrow(/a holdout is 2-D/);
    await expect(first(Readable.from([Buffer.from('f0,f1\n1,2\n')]))).rejects.toThrow(/not a NumPy \.npy file/);
    await expect(all(readHoldout(Readable.from([bytes.subarray(0, bytes.length - 10)]), NPY, 64))).rejects.toThrow(/truncated: its shape says 200 rows, it holds 199 and 114 bytes of a row/);
    await expect(all(readHoldout(Readable.from([bytes, Buffer.alloc(5)]), NPY, 64))).rejects.toThrow(/holds 5 bytes after the 200 rows its shape says/);
  });
});

describe('parseDecimal', () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const samples = ['0', '-0', '+1', '1.', '.5', '00012.5000', '1e5', '1E-5', '-2.5e+3', '123456789012345', '1234567890123456789', '0.1', '9007199254740993', '1e400', '1e-400', ' 3.25 ', 'Infinity', '0x10', '1e', 'abc', '', ' ', '1,5'];
  samples.push('0.00000000000000000000001', '0.000000000000000000000012345', '-.0', '1.2.3', '-', '+', '.', '5 ', ' 5', '1-2');
  for (let i = 0; i < 20_000; i++) {
    const v = (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
    samples.push(String(v), v.toPrecision(1 + Math.floor(random() * 17)), v.toExponential(Math.floor(random() * 10)), v.toFixed(Math.floor(random() * 12)));
  }

  it('reads every number in a CSV cell exactly as Number() does', async () => {
    // The cell under test comes first, so its end is a comma; the label column keeps full precision.
    const readable = samples.filter((text) => !text.includes(',') && text.trim() !== '' && Number.isFinite(Number(text)));
    const csv = `y,x\n${readable.map((text) => `${text},0`).join('\n')}\n`;
    const labels: number[] = [];
    for await (const batch of readHoldout(Readable.from([Buffer.from(csv, 'latin1')]), { format: 'csv', features: ['x'], label: 'y' }, 4096)) labels.push(...batch.labels);
    expect(readable.length).toBeGreaterThan(80_000);
    expect(readable.filter((text, i) => !Object.is(labels[i], Number(text)))).toEqual([]);
    // An empty cell, a NaN or ∞ (as a number or a word) is the holdout's non-finite rule's; other text is no number at all.
    const nonFinite = (text: string) => text.trim() === '' || /^[+-]?(nan|inf|infinity)$/i.test(text.trim()) || (!Number.isNaN(Number(text)) && !Number.isFinite(Number(text)));
    const rejected = samples.filter((text) => !text.includes(',') && !Number.isFinite(Number(text)) || (!text.includes(',') && text.trim() === ''));
    expect(rejected.filter(nonFinite).length).toBeGreaterThan(0);
    for (const text of rejected) {
      await expect(readHoldout(Readable.from([Buffer.from(`y,x\n${text},0\n`)]), { format: 'csv', features: ['x'], label: 'y' }, 8).next(), JSON.stringify(text)).rejects.toThrow(nonFinite(text) ? /holdout row 1: column y is/ : /column y is not a number/);
    }
  }, 30_000);

  it('reads every decimal exactly as Number() does', async () => {
    const { parseDecimal } = await import('../../src/inference/holdout.js');
    const differing = samples.filter((text) => {
      const buf = Buffer.from(`x${text}y`, 'latin1');
      const expected = text.trim() === '' ? Number.NaN : Number(text);
      return !Object.is(parseDecimal(buf, 1, buf.length - 1), expected);
    });
    expect(samples.length).toBeGreaterThan(80_000);
    expect(differing).toEqual([]);
  }, 30_000);
});
