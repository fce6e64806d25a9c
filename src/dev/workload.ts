/**
 * The shipped workload (assets/, made by scripts/models/train_models.py): the breast-cancer
 * classifier, its variants and holdout set, seeded into a source cloud for the demo and the tests,
 * and its rows as prediction requests for the load generator.
 */
import { copyFileSync, createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signFolder } from '../artifacts/folder-signing.js';
import { generateKeyPair, privateKeyAt, privateKeyFile } from '../artifacts/keys.js';
import type { ObjectStore } from '../clouds/object-store.js';
import type { MigrationSpecInput } from '../spec.js';
import { PROJECT_ROOT } from '../paths.js';

export const ASSETS_DIR = join(PROJECT_ROOT, 'assets');
export const CLASSIFIER_FEATURES = Array.from({ length: 30 }, (_, i) => `f${i}`);
/** The models shipped beside the base one: same bytes, weights nudged by 1e-6, weights +30 % noise. */
export const MODEL_VARIANTS = ['breast-cancer.onnx', 'breast-cancer-copy.onnx', 'breast-cancer-slight.onnx', 'breast-cancer-strong.onnx'] as const;

/** Writes the models and the holdout under `prefix` (skipping what is there with the same size). */
export async function seedWorkload(store: ObjectStore, prefix: string): Promise<void> {
  const files = [...MODEL_VARIANTS.map((m) => [`model/${m}`, m] as const), ['holdout/holdout.csv', 'breast-cancer-holdout.csv'] as const];
  for (const [key, asset] of files) {
    const size = readFileSync(join(ASSETS_DIR, asset)).length;
    const existing = await store.head(`${prefix}${key}`).catch(() => undefined);
    if (existing?.size === size) continue;
    await store.write(`${prefix}${key}`, createReadStream(join(ASSETS_DIR, asset)), { contentType: asset.endsWith('.csv') ? 'text/csv' : 'application/octet-stream' });
  }
}

export const PROVENANCE_ASSET = 'breast-cancer.provenance.json';

/**
 * Makes the seeded model folder a signed artifact: the shipped provenance beside the models, and a
 * model-signing bundle over the folder made with the key `keyName` of the keys folder (created the
 * first time). Returns the spec's artifact section.
 */
export async function seedSignedArtifact(store: ObjectStore, prefix: string, keysDir: string, keyName: string) {
  if (!existsSync(privateKeyFile(keysDir, keyName))) generateKeyPair(keysDir, keyName);
  const folder = mkdtempSync(join(tmpdir(), 'cloudshift-artifact-'));
  try {
    for (const asset of [...MODEL_VARIANTS, PROVENANCE_ASSET]) copyFileSync(join(ASSETS_DIR, asset), join(folder, asset));
    await signFolder(folder, privateKeyAt(privateKeyFile(keysDir, keyName)));
    for (const file of [PROVENANCE_ASSET, 'model.sig']) await store.write(`${prefix}model/${file}`, createReadStream(join(folder, file)), { contentType: 'application/json' });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  return { folder: 'model/', provenance: `model/${PROVENANCE_ASSET}`, policy: { keys: [keyName] } };
}

/** The spec's workload section for what seedWorkload wrote; `targetModel` names a variant. */
export function workloadSpec(targetModel?: (typeof MODEL_VARIANTS)[number]): NonNullable<MigrationSpecInput['workload']> {
  return {
    model: { path: 'model/breast-cancer.onnx', ...(targetModel ? { targetPath: `model/${targetModel}` } : {}) },
    holdout: { path: 'holdout/holdout.csv', format: 'csv', features: CLASSIFIER_FEATURES, label: 'label', task: 'binary' },
  };
}

/**
 * The shadow tolerances the shipped holdout can resolve. It has 200 rows, so one changed label
 * is 0.5 % of them: a 0.1 % tolerance on accuracy or agreement would make every verdict
 * "inconclusive". The continuous criteria (probabilities, paired scores) keep 0.1 %.
 */
export const WORKLOAD_TOLERANCES = { maxMetricDelta: 0.005, minLabelAgreement: 0.995 } as const;

/** The holdout's feature rows, as prediction requests carry them. */
export function holdoutRows(): number[][] {
  const [header, ...lines] = readFileSync(join(ASSETS_DIR, 'breast-cancer-holdout.csv'), 'utf8').trim().split('\n');
  const columns = CLASSIFIER_FEATURES.map((f) => header!.split(',').indexOf(f));
  return lines.map((line) => {
    const cells = line.split(',');
    return columns.map((c) => Number(cells[c]));
  });
}
