/**
 * The model's provenance (read, checked to describe the artifact's own files) and what an ONNX
 * model says of itself (opset, producer), which the shadow report sets against it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareRuntime, readProvenance } from '../../src/artifacts/provenance.js';
import { ASSETS_DIR } from '../../src/dev/workload.js';
import { ONNXRUNTIME_VERSION, onnxModelInfo } from '../../src/inference/onnx-model-info.js';
import { shadowSectionHtml } from '../../src/compare/html.js';
import type { ShadowReport } from '../../src/compare/report.js';

const shipped = readFileSync(join(ASSETS_DIR, 'breast-cancer.provenance.json'), 'utf8');
const model = readFileSync(join(ASSETS_DIR, 'breast-cancer.onnx'));
const modelSha = createHash('sha256').update(model).digest('hex');
const files = new Map([['breast-cancer.onnx', modelSha], ['preprocess.json', 'b'.repeat(64)]]);
const edited = (edit: (s: Record<string, any>) => void) => {
  const statement = JSON.parse(shipped);
  edit(statement);
  return JSON.stringify(statement);
};

describe('provenance', () => {
  it('reads the shipped model\'s provenance: data with digests, hyperparameters, code revision, libraries, runtime, metrics', () => {
    const summary = readProvenance(shipped, 'p.json', files);
    expect(summary.subject).toEqual([{ name: 'breast-cancer.onnx', sha256: modelSha }]);
    expect(summary.predicate).toMatchObject({
      trainingData: [{ digest: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }, rows: 369 }],
      evaluationData: [{ uri: 'assets/breast-cancer-holdout.csv', rows: 200 }],
      hyperparameters: { max_iter: 5000, 'split.random_state': 0 },
      code: { entryPoint: 'scripts/models/train_models.py', revision: expect.stringMatching(/^[0-9a-f]{40}$/) },
      libraries: { skl2onnx: '1.20.0' },
      runtime: { opset: 17, executionProviders: ['cpu', 'cuda'] },
      metrics: { holdout_accuracy: 0.97 },
    });
    // What it declares of the model is what the model says of itself.
    expect(onnxModelInfo(model)).toMatchObject({ opset: summary.predicate!.runtime.opset, producer: `skl2onnx ${summary.predicate!.libraries.skl2onnx}` });
    // The holdout it names is the one shipped.
    expect(summary.predicate!.evaluationData[0]!.digest.sha256).toBe(createHash('sha256').update(readFileSync(join(ASSETS_DIR, 'breast-cancer-holdout.csv'))).digest('hex'));
  });

  it('refuses a provenance of another model, or of a file the artifact does not hold', () => {
    expect(() => readProvenance(shipped, 'p.json', new Map([['breast-cancer.onnx', 'c'.repeat(64)]]))).toThrow(/describes breast-cancer\.onnx with SHA-256 3d08.*it describes another model/);
    expect(() => readProvenance(shipped, 'p.json', new Map([['model.onnx', modelSha]]))).toThrow(/describes breast-cancer\.onnx, which is not a file of the artifact/);
  });

  it('refuses what does not read, naming the field', () => {
    expect(() => readProvenance('{', 'p.json', files)).toThrow(/p\.json is not JSON/);
    expect(() => readProvenance('{"_type":"x"}', 'p.json', files)).toThrow(/not an in-toto statement: _type/);
    expect(() => readProvenance(edited((s) => (s.predicate.metrics.holdout_accuracy = 'high')), 'p.json', files)).toThrow(/metrics\.holdout_accuracy/);
    expect(() => readProvenance(edited((s) => (s.predicate.secretKey = 'x')), 'p.json', files)).toThrow(/does not read/);
    expect(() => readProvenance(edited((s) => (s.predicate.trainingData[0].digest.sha256 = 'nope')), 'p.json', files)).toThrow(/trainingData\.0\.digest\.sha256: expected a SHA-256/);
  });

  it('keeps only the type and subject of a predicate it does not read (SLSA)', () => {
    const slsa = readProvenance(edited((s) => ((s.predicateType = 'https://slsa.dev/provenance/v1'), (s.predicate = { buildDefinition: {} }))), 'p.json', files);
    expect(slsa).toEqual({ document: 'p.json', predicateType: 'https://slsa.dev/provenance/v1', subject: [{ name: 'breast-cancer.onnx', sha256: modelSha }] });
  });

  it('compares each side\'s runtime with what it declares: ONNX Runtime by minor version, the provider, the opset', () => {
    const declared = { onnxruntime: '1.22.0', opset: 17, executionProviders: ['cuda' as const] };
    const rows = compareRuntime(declared, {
      source: { onnxruntime: '1.22.1', executionProvider: 'cuda', opset: 17 },
      target: { onnxruntime: '1.23.0', executionProvider: 'cpu', opset: 18 },
    });
    expect(rows.map((r) => `${r.side} ${r.what} ${r.matches}`)).toEqual([
      'source onnxruntime true', 'source executionProvider true', 'source opset true',
      'target onnxruntime false', 'target executionProvider false', 'target opset false',
    ]);
    expect(compareRuntime({}, { source: { onnxruntime: '1', executionProvider: 'cpu' }, target: { onnxruntime: '1', executionProvider: 'cpu' } })).toEqual([]);
  });

  it('the shadow report shows it, escaped, with a runtime that differs marked', () => {
    const summary = readProvenance(edited((s) => (s.predicate.code.repository = '<script>alert(1)</script>')), 'p.json', files);
    const report = {
      migration: 'm', task: 'binary', rows: 1, resolution: 1, metrics: [], distribution: {}, noise: {}, noiseWarnings: [], criteria: [], verdict: 'passed', passed: true, failed: [], inconclusive: [], pairedMeasure: '',
      histograms: { scores: { edges: [], counts: [[], []] }, differences: { edges: [], counts: [[]] } },
      provenance: { summary, runtime: compareRuntime(summary.predicate!.runtime, { source: { onnxruntime: ONNXRUNTIME_VERSION, executionProvider: 'cpu', opset: 17 }, target: { onnxruntime: ONNXRUNTIME_VERSION, executionProvider: 'cpu', opset: 16 } }) },
    } as unknown as ShadowReport;
    const html = shadowSectionHtml(report);
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).not.toContain('<script>');
    expect(html).toMatch(/<tr class="monitor"><td>target<\/td><td>opset<\/td><td>17<\/td><td>16<\/td><td>DIFFERS<\/td><\/tr>/);
    expect(html).toContain('holdout_accuracy');
  });
});

describe('what an ONNX model says of itself', () => {
  it('reads the opset and producer of the shipped models, and nothing from what is not one', () => {
    for (const name of ['breast-cancer.onnx', 'diabetes.onnx', 'breast-cancer-mlp.onnx']) {
      expect(onnxModelInfo(readFileSync(join(ASSETS_DIR, name))), name).toMatchObject({ opset: 17, irVersion: 8, producer: 'skl2onnx 1.20.0' });
    }
    expect(onnxModelInfo(Buffer.from('not a model at all'))).toEqual({ opsets: {} });
    expect(() => onnxModelInfo(model.subarray(0, 40))).not.toThrow();
    expect(onnxModelInfo(new Uint8Array([0x42, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toEqual({ opsets: {} });
    expect(ONNXRUNTIME_VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });
});
