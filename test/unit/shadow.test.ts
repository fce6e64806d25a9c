/**
 * One side of the shadow run on a filesystem store (inference on its own thread, predictions
 * streamed back), the report built from two sides, and the canary analysis.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalFsStore } from '../../src/clouds/local-store.js';
import { renderReportHtml } from '../../src/compare/html.js';
import { buildShadowReport } from '../../src/compare/report.js';
import { ASSETS_DIR, type MODEL_VARIANTS, seedWorkload, WORKLOAD_TOLERANCES, workloadSpec } from '../../src/dev/workload.js';
import { ModelChecksumMismatch } from '../../src/inference/model.js';
import { ExecutionProviderUnavailable } from '../../src/inference/session.js';
import { predictionRecords, predictionsHeader, readPredictions } from '../../src/inference/predictions.js';
import { runShadowSide } from '../../src/shadow/run.js';
import { migrationSpecSchema } from '../../src/spec.js';

const store = new LocalFsStore(mkdtempSync(join(tmpdir(), 'cs-shadow-')), 'models');
const holdout = workloadSpec().holdout as Parameters<typeof runShadowSide>[0]['holdout'];
const sha256 = (name: string) => createHash('sha256').update(readFileSync(join(ASSETS_DIR, name))).digest('hex');
const defaults = migrationSpecSchema.parse({ name: 'x', source: { cloud: 'aws', profile: 'p', bucket: 'bbb' }, target: { cloud: 'gcp', profile: 'p', bucket: 'bbb' } });

beforeAll(async () => {
  await store.ensureContainer();
  await seedWorkload(store, 'w/');
});

async function side(model: (typeof MODEL_VARIANTS)[number], options: { measureNoise?: boolean; batchSize?: number } = {}) {
  const result = await runShadowSide({
    store,
    modelKey: `w/model/${model}`,
    holdoutKey: 'w/holdout/holdout.csv',
    predictionsKey: `w/out/${model}-${options.batchSize ?? 64}.bin`,
    holdout,
    executionProvider: 'cpu',
    batchSize: options.batchSize ?? 64,
    expectedModelSha256: sha256(model),
    measureNoise: options.measureNoise ?? false,
  });
  const columns = await readPredictions(await store.read(result.predictionsKey), result.rows, result.predictionsKey);
  return { result, columns: { ...columns, ...(result.classes ? { classes: result.classes } : {}) } };
}

describe('a shadow side', () => {
  it('predicts every holdout row on its own thread, writes them in order, and measures the noise floor', async () => {
    const { result, columns } = await side('breast-cancer.onnx', { measureNoise: true, batchSize: 7 });
    expect(result).toMatchObject({ rows: 200, provider: 'cpu', modelSha256: sha256('breast-cancer.onnx') });
    expect(result.noise).toMatchObject({ rows: 200, comparison: 'cpu against cpu with 1 thread' });
    expect(result.noise!.maxAbsolute).toBeLessThan(1e-6);
    expect(columns.truth.reduce((a, b) => a + b, 0)).toBeGreaterThan(100);
    const again = await side('breast-cancer.onnx', { batchSize: 64 });
    // Batch size changes nothing: the same rows in the same order.
    expect(Array.from(again.columns.scores)).toEqual(Array.from(columns.scores));
  });

  it('refuses a model whose bytes differ from the manifest checksum', async () => {
    await store.write('w/model/corrupt.onnx', Readable.from([Buffer.concat([readFileSync(join(ASSETS_DIR, 'breast-cancer.onnx')).subarray(0, 500), Buffer.alloc(10)])]));
    const error = await runShadowSide({
      store,
      modelKey: 'w/model/corrupt.onnx',
      holdoutKey: 'w/holdout/holdout.csv',
      predictionsKey: 'w/out/corrupt.bin',
      holdout,
      executionProvider: 'cpu',
      batchSize: 64,
      expectedModelSha256: sha256('breast-cancer.onnx'),
      measureNoise: false,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelChecksumMismatch);
    expect((error as Error).message).toMatch(/w\/model\/corrupt\.onnx hashes to SHA-256 [0-9a-f]{64}, but the copy manifest records/);
  });

  it('fails clearly when cuda is asked for on a machine without it, from inside the thread', async () => {
    const error = await runShadowSide({
      store,
      modelKey: 'w/model/breast-cancer.onnx',
      holdoutKey: 'w/holdout/holdout.csv',
      predictionsKey: 'w/out/cuda.bin',
      holdout,
      executionProvider: 'cuda',
      batchSize: 64,
      measureNoise: false,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutionProviderUnavailable);
  });
});

describe('the predictions file', () => {
  const records = (scores: number[], labels: number[] | undefined) => {
    const columns = labels ? 2 : 0;
    const probabilities = labels ? Float32Array.from(scores.flatMap((s) => [1 - s, s])) : undefined;
    return Buffer.concat([predictionsHeader(columns), predictionRecords(Float64Array.from(scores), labels && Float64Array.from(labels), Float64Array.from(scores, (_, i) => i % 2), probabilities, columns)]);
  };
  // Records split across chunks: the reader must not assume a chunk holds whole rows.
  const read = (bytes: Buffer, rows: number) => readPredictions(Readable.from([bytes.subarray(0, 29), bytes.subarray(29, 57), bytes.subarray(57)]), rows, 'p.bin');

  it('reads back exactly what was written, with and without predicted classes', async () => {
    expect(await read(records([0.25, 1e-300, 0.75], [0, 0, 1]), 3)).toEqual({
      scores: Float64Array.from([0.25, 1e-300, 0.75]),
      labels: Float64Array.from([0, 0, 1]),
      truth: Float64Array.from([0, 1, 0]),
      probabilities: Float32Array.from([0.75, 0.25, 1, 1e-300, 0.25, 0.75]),
      columns: 2,
    });
    expect(await read(records([151.5, -3], undefined), 2)).toEqual({ scores: Float64Array.from([151.5, -3]), truth: Float64Array.from([0, 1]), columns: 0 });
  });

  it('refuses another file, a short one and a long one, naming it', async () => {
    await expect(read(Buffer.from('row,score,label,truth\n0,0.5,1,1\n'), 1)).rejects.toThrow(/p\.bin: not a cloudshift predictions file \(it starts with "row,score,label,"/);
    // 24 bytes of header, then 32-byte rows: 88 bytes are two rows and 0 of the third; 90 leave 2 over.
    await expect(read(records([0.5, 0.5, 0.5], [1, 1, 1]).subarray(0, 90), 3)).rejects.toThrow(/p\.bin: 2 rows and 2 bytes of a row, expected 3/);
    await expect(read(records([0.5, 0.5, 0.5], [1, 1, 1]), 2)).rejects.toThrow(/p\.bin: more than the 2 rows the side reported/);
  });
});

describe('the shadow report', () => {
  const shipped = { ...defaults.shadow, tolerances: { ...defaults.shadow.tolerances, ...WORKLOAD_TOLERANCES } };
  it('passes the identical and the slight variant, fails the strong one on the paired criteria', { timeout: 30_000 }, async () => {
    const base = (await side('breast-cancer.onnx')).columns;
    const verdict = async (model: (typeof MODEL_VARIANTS)[number]) =>
      buildShadowReport({ migration: 'm', task: 'binary', source: base, target: (await side(model)).columns, shadow: shipped });
    expect((await verdict('breast-cancer-copy.onnx')).passed).toBe(true);
    const slight = await verdict('breast-cancer-slight.onnx');
    expect(slight).toMatchObject({ passed: true, failed: [] });
    expect(slight.paired!.relative.mean).toBeGreaterThan(0);
    const strong = await verdict('breast-cancer-strong.onnx');
    expect(strong.passed).toBe(false);
    expect(strong.failed).toContain('meanRelativeDiff');
    // The distribution statistics are monitors unless the spec makes them gates.
    expect(strong.criteria.find((c) => c.name === 'ksStatistic')).toMatchObject({ gate: false, passed: true });
    const gated = buildShadowReport({
      migration: 'm',
      task: 'binary',
      source: base,
      target: (await side('breast-cancer-strong.onnx')).columns,
      shadow: { ...shipped, driftGates: { maxWasserstein: 1e-9 } },
    });
    expect(gated.failed).toContain('wasserstein1');
    const html = renderReportHtml(strong);
    expect(html).toMatch(/Shadow verdict: FAILED \(.*meanRelativeDiff/);
    expect(html.match(/<svg/g)).toHaveLength(2);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });
});
