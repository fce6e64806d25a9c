/**
 * One side of the shadow run: the model and holdout as stored in one cloud, inference on a thread
 * of its own, predictions streamed back to the same cloud. Only a summary leaves.
 */
import { PassThrough } from 'node:stream';
import type { ObjectStore } from '../clouds/object-store.js';
import type { NoiseSummary } from '../compare/report.js';
import type { SkippedRows } from '../inference/holdout.js';
import { InferenceThread } from '../inference/inference-thread.js';
import { loadModel } from '../inference/model.js';
import { ONNXRUNTIME_VERSION, onnxModelInfo } from '../inference/onnx-model-info.js';
import type { SideRuntime } from '../artifacts/provenance.js';
import type { ExecutionProvider, MigrationSpec } from '../spec.js';

export type Workload = NonNullable<MigrationSpec['workload']>;

export interface ShadowSideOptions {
  /** Where the model and the holdout are read. */
  store: ObjectStore;
  /** Where the predictions are written. @default store */
  predictionsStore?: ObjectStore;
  modelKey: string;
  holdoutKey: string;
  predictionsKey: string;
  holdout: Workload['holdout'];
  executionProvider: ExecutionProvider;
  batchSize: number;
  /** The SHA-256 the copy manifest holds for the model; a model that does not hash to it is refused. */
  expectedModelSha256?: string;
  /** Run a sample of rows a second time on a one-thread CPU session and report the differences. */
  measureNoise: boolean;
  onProgress?: (rows: number) => void;
  log?: (line: string) => void;
}

/** Differences between two runs of the same model on the same rows: what is not migration. */
export type NoiseFloor = NoiseSummary;

export interface ShadowSideResult {
  rows: number;
  predictionsKey: string;
  modelSha256: string;
  provider: 'cpu' | 'cuda';
  /** What really ran the model: the ONNX Runtime version, the provider and the model's opset. */
  runtime: SideRuntime;
  fallbackReason?: string;
  /** The model's class labels in column order, where the model names them (string classes by their codes). */
  classes?: number[];
  /** String classes as the model names them, in the order of `classes`. */
  classNames?: string[];
  /** Holdout rows with a NaN or infinite value left out (workload.holdout.nonFinite: skip). */
  skippedRows?: SkippedRows;
  seconds: number;
  rowsPerSecond: number;
  noise?: NoiseFloor;
}

export async function runShadowSide(options: ShadowSideOptions): Promise<ShadowSideResult> {
  const started = performance.now();
  const { bytes: model, sha256: modelSha256 } = await loadModel(options.store, options.modelKey, options.expectedModelSha256);
  const { opset } = onnxModelInfo(model);
  const out = new PassThrough();
  let rowsWritten = 0;
  const thread = await InferenceThread.start(
    model,
    { executionProvider: options.executionProvider, holdout: options.holdout, batchSize: options.batchSize, noise: options.measureNoise, log: options.log },
    (records, rows) => {
      out.write(records);
      rowsWritten += rows;
      options.onProgress?.(rowsWritten);
    },
  );
  const upload = (options.predictionsStore ?? options.store).write(options.predictionsKey, out, { contentType: 'application/octet-stream' });
  // A failed upload must not leave the reader below waiting for a drain that never comes.
  upload.catch(() => out.destroy());
  let done: Awaited<ReturnType<InferenceThread['end']>>;
  try {
    for await (const chunk of await options.store.read(options.holdoutKey)) {
      // The upload sets the pace: predictions waiting for it are not left to pile up in memory.
      if (out.writableNeedDrain) await drained(out);
      await thread.push(chunk as Buffer);
    }
    done = await thread.end();
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
  const noise = done.noise;
  return {
    rows: done.rows,
    predictionsKey: options.predictionsKey,
    modelSha256,
    provider: thread.provider,
    runtime: { onnxruntime: ONNXRUNTIME_VERSION, executionProvider: thread.provider, ...(opset === undefined ? {} : { opset }) },
    ...(thread.fallbackReason ? { fallbackReason: thread.fallbackReason } : {}),
    ...(thread.classes ? { classes: thread.classes } : {}),
    ...(thread.classNames ? { classNames: thread.classNames } : {}),
    ...(done.skipped ? { skippedRows: done.skipped } : {}),
    seconds,
    rowsPerSecond: done.rows / seconds,
    ...(noise
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

function drained(out: PassThrough): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      out.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      out.off('drain', onDrain);
      reject(new Error('the predictions upload stopped'));
    };
    out.once('drain', onDrain).once('close', onClose);
  });
}
