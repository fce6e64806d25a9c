/** The class labels read from the models themselves, both ways skl2onnx writes them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ASSETS_DIR } from '../../src/dev/workload.js';
import { OnnxFormatError, onnxClassLabels } from '../../src/inference/onnx-classes.js';
import { GATE_PAIRS_DIR } from '../support/gate-pairs.js';

const model = (dir: string, name: string) => readFileSync(join(dir, name));

describe('onnxClassLabels', () => {
  it('reads a classifier node’s classlabels, in column order', () => {
    expect(onnxClassLabels(model(ASSETS_DIR, 'breast-cancer.onnx'))).toEqual({ kind: 'int', values: [0, 1] });
    expect(onnxClassLabels(model(GATE_PAIRS_DIR, 'permuted.onnx'))).toEqual({ kind: 'int', values: [1, 0] });
    expect(onnxClassLabels(model(GATE_PAIRS_DIR, 'mc-reordered.onnx'))).toEqual({ kind: 'int', values: [2, 0, 1] });
  });

  it('reads the class table an MLP’s label is picked from', () => {
    expect(onnxClassLabels(model(ASSETS_DIR, 'breast-cancer-mlp.onnx'))).toEqual({ kind: 'int', values: [0, 1] });
  });

  it('says none for a regressor, and refuses a truncated model by name', () => {
    expect(onnxClassLabels(model(ASSETS_DIR, 'diabetes.onnx'))).toBeUndefined();
    const bytes = model(ASSETS_DIR, 'breast-cancer.onnx');
    expect(() => onnxClassLabels(bytes.subarray(0, Math.floor(bytes.length / 2)))).toThrow(OnnxFormatError);
  });
});
