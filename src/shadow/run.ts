/**
 * One side of the shadow run: the model and holdout as stored in one cloud, inference on a thread
 * of its own, predictions streamed back to the same cloud. Only a summary leaves.
 */
import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { ObjectStore } from '../clouds/object-store.js';
import { InferenceThread } from '../inference/inference-thread.js';
import { readHoldout } from '../inference/holdout.js';
import type { ExecutionProvider, MigrationSpec } from '../spec.js';
import { PREDICTIONS_HEADER, predictionLines } from './predictions.js';

export type Workload = NonNullable<MigrationSpec['workload']>;

export interface ShadowSideOptions {
  store: ObjectStore;
  modelKey: string;
  holdoutKey: string;
  predictionsKey: string;
  holdout: Workload['holdout'];
  executionProvider: ExecutionProvider;
  batchSize: number;
  /** The SHA-256 the copy manifest holds for the model; a model that does not hash to it is refused. */
  expectedModelSha256?: string;
  /** Run every batch a second time on a one-thread CPU session and report the differences. */
  measureNoise: boolean;
  onProgress?: (rows: number) => void;
  log?: (line: string) => void;
}

/** Differences between two runs of the same model on the same rows: what is not migration. */
export interface NoiseFloor {
  rows: number;
  /** What the second run was: `cpu, 1 thread` against the primary provider. */
  comparison: string;
  maxAbsolute: number;
  meanAbsolute: number;
  maxRelative: number;
  meanRelative: number;
}

export interface ShadowSideResult {
  rows: number;
  predictionsKey: string;
  modelSha256: string;
  provider: 'cpu' | 'cuda';
  fallbackReason?: string;
  seconds: number;
  rowsPerSecond: number;
  noise?: NoiseFloor;
}

export class ModelChecksumMismatch extends Error {
  override readonly name = 'ModelChecksumMismatch';
}

/** The floor of relative differences, the same as pairedDifferences' (see compare/statistics.ts). */
const RELATIVE_FLOOR = 1e-3;

export async function runShadowSide(options: ShadowSideOptions): Promise<ShadowSideResult> {
  const started = performance.now();
  const model = await readWhole(options.store, options.modelKey);
  const modelSha256 = createHash('sha256').update(model).digest('hex');
  if (options.expectedModelSha256 && modelSha256 !== options.expectedModelSha256) {
    throw new ModelChecksumMismatch(
      `the model ${options.store.uri}/${options.modelKey} hashes to SHA-256 ${modelSha256}, but the copy manifest records ${options.expectedModelSha256}: it was changed or corrupted after the copy. Re-run the copy (or restore the model) before the shadow phase.`,
    );
  }
  const thread = await InferenceThread.start(model, { executionProvider: options.executionProvider, noise: options.measureNoise, log: options.log });
  const out = new PassThrough();
  const upload = options.store.write(options.predictionsKey, out, { contentType: 'text/csv' });
  // A failed upload must not leave the writer below waiting for a drain that never comes.
  upload.catch(() => out.destroy());
  const noise = { rows: 0, maxAbsolute: 0, sumAbsolute: 0, maxRelative: 0, sumRelative: 0 };
  let rows = 0;
  try {
    await write(out, `${PREDICTIONS_HEADER}\n`);
    let previous: Promise<void> | undefined;
    for await (const batch of readHoldout(await options.store.read(options.holdoutKey), options.holdout, options.batchSize)) {
      const truth = batch.labels;
      const first = rows;
      rows += batch.rows;
      const predicted = thread.predict(batch.features, batch.rows);
      // One batch computes on the thread while the next is read and parsed here.
      const done = (previous ?? Promise.resolve()).then(async () => {
        const p = await predicted;
        if (p.noiseScores) accumulateNoise(noise, p.scores, p.noiseScores);
        await write(out, predictionLines(first, p.scores, p.labels, truth));
        options.onProgress?.(first + batch.rows);
      });
      await previous;
      previous = done;
    }
    await previous;
    out.end();
    await upload;
  } catch (error) {
    out.destroy();
    await upload.catch(() => undefined);
    throw error;
  } finally {
    await thread.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    rows,
    predictionsKey: options.predictionsKey,
    modelSha256,
    provider: thread.provider,
    ...(thread.fallbackReason ? { fallbackReason: thread.fallbackReason } : {}),
    seconds,
    rowsPerSecond: rows / seconds,
    ...(options.measureNoise
      ? {
          noise: {
            rows: noise.rows,
            comparison: `${thread.provider} against cpu with 1 thread`,
            maxAbsolute: noise.maxAbsolute,
            meanAbsolute: noise.rows ? noise.sumAbsolute / noise.rows : 0,
            maxRelative: noise.maxRelative,
            meanRelative: noise.rows ? noise.sumRelative / noise.rows : 0,
          },
        }
      : {}),
  };
}

function accumulateNoise(
  noise: { rows: number; maxAbsolute: number; sumAbsolute: number; maxRelative: number; sumRelative: number },
  a: Float64Array,
  b: Float64Array,
): void {
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    const r = d / Math.max(Math.abs(a[i]!), Math.abs(b[i]!), RELATIVE_FLOOR);
    noise.maxAbsolute = Math.max(noise.maxAbsolute, d);
    noise.maxRelative = Math.max(noise.maxRelative, r);
    noise.sumAbsolute += d;
    noise.sumRelative += r;
  }
  noise.rows += a.length;
}

async function write(out: PassThrough, text: string): Promise<void> {
  if (out.destroyed) throw new Error('the predictions upload stopped');
  if (out.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const drained = () => {
      out.off('close', closed);
      resolve();
    };
    const closed = () => {
      out.off('drain', drained);
      reject(new Error('the predictions upload stopped'));
    };
    out.once('drain', drained).once('close', closed);
  });
}

/** A model is loaded whole by ONNX Runtime anyway; its size is what the session needs. */
async function readWhole(store: ObjectStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.read(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
