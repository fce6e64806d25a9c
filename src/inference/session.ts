/**
 * ONNX Runtime sessions. `auto` tries CUDA and falls back to CPU with a line saying why; `cuda`
 * fails with the reason instead. The npm package carries the CPU build; the CUDA provider needs
 * its libraries (matching onnxruntime-node's version and the machine's CUDA major) on the host.
 */
import * as ort from 'onnxruntime-node';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { NonRetryableError } from '../errors.js';
import type { ExecutionProvider } from '../spec.js';
import { classCode, classCodes } from './class-codes.js';
import { feedsOf, type InterfaceExpectations, type ModelInterface, planInterface } from './model-interface.js';
import { onnxClassLabels, withFloatOutput, zipMapInput } from './onnx-classes.js';

export interface SessionOptions {
  /** @default 'auto' */
  executionProvider?: ExecutionProvider;
  /** Threads inside one run. @default the machine's cores */
  intraOpThreads?: number;
  log?: (line: string) => void;
}

export interface LoadedSession {
  session: ort.InferenceSession;
  /** The provider actually in use. */
  provider: 'cpu' | 'cuda';
  /** Why CUDA is not in use, where it was asked for or tried. */
  fallbackReason?: string;
}

export class ExecutionProviderUnavailable extends NonRetryableError {
  constructor(message: string) {
    super('ExecutionProviderUnavailable', message);
  }
}

// ONNX Runtime's own log would print a missing CUDA library as an error on every CPU machine;
// we report the fallback ourselves, once, with the reason.
ort.env.logLevel = 'fatal';

export async function loadSession(model: Uint8Array, options: SessionOptions = {}): Promise<LoadedSession> {
  const wanted = options.executionProvider ?? 'auto';
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: options.intraOpThreads ?? availableParallelism(),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Idle pool threads sleep instead of spinning: a shadow run's batches are large, so waking costs
    // nothing, while spinning threads of two sides on one host (the local stack) took the cores
    // from each other: 5.7 s against 4.95 s for both sides of 1M rows on the MLP, on two cores.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  if (wanted !== 'cpu') {
    try {
      return { session: await ort.InferenceSession.create(model, { ...base, executionProviders: ['cuda'] }), provider: 'cuda' };
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
      if (wanted === 'cuda') {
        throw new ExecutionProviderUnavailable(
          `executionProvider "cuda" was asked for but ONNX Runtime could not start it: ${reason}; ${hostCudaHint()}. Fix that on this worker, or set shadow.executionProvider to "auto" or "cpu".`,
        );
      }
      options.log?.(`ONNX Runtime: CUDA unavailable (${reason}; ${hostCudaHint()}); running on CPU`);
      return { session: await ort.InferenceSession.create(model, { ...base, executionProviders: ['cpu'] }), provider: 'cpu', fallbackReason: reason };
    }
  }
  return { session: await ort.InferenceSession.create(model, { ...base, executionProviders: ['cpu'] }), provider: 'cpu' };
}

/** Where onnxruntime-node's native library is, and where ONNX Runtime looks for providers. */
const ORT_BINARY_DIR = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);

/**
 * Why the CUDA provider did not load, as far as this host shows it: ONNX Runtime itself says only
 * "Failed to load shared library", whether the provider is absent or a library it needs is.
 */
export function cudaProviderHint(dir = ORT_BINARY_DIR): string {
  const provider = join(dir, 'libonnxruntime_providers_cuda.so');
  if (process.platform !== 'linux') return `see ONNX Runtime's CUDA requirements for ${process.platform}`;
  if (!existsSync(provider)) return `the CUDA provider for onnxruntime-node ${ort.env.versions.common} is not installed here (bash scripts/install-cuda.sh installs it)`;
  let missing: string[];
  try {
    missing = missingLibraries(execFileSync('ldd', [provider], { encoding: 'utf8' }));
  } catch {
    return 'the CUDA provider is installed, but ldd could not say what it lacks';
  }
  return missing.length
    ? `the CUDA provider is installed, but not on the library path: ${missing.join(', ')} (CUDA 13 runtime libraries and the NVIDIA driver)`
    : 'the CUDA provider and the libraries it links are installed, so the GPU or its driver refused';
}

/** This host's hint, worked out once: every session that falls back would ask `ldd` again. */
let hostHint: string | undefined;
const hostCudaHint = () => (hostHint ??= cudaProviderHint());

/** The libraries `ldd` reports as not found. */
export function missingLibraries(lddOutput: string): string[] {
  return lddOutput
    .split('\n')
    .filter((line) => line.includes('=> not found'))
    .map((line) => line.trim().split(/\s+/)[0]!);
}

export interface Predictions {
  /** One score per row: the positive class's probability (binary), the winning class's (multi-class), the predicted value (regression). */
  scores: Float64Array;
  /** The class each row is served as (the model's label output); classifiers only. */
  labels?: Float64Array;
  /** Every class's probability, row-major, `columns` a row; classifiers only. */
  probabilities?: Float32Array;
  columns: number;
}

/** A model whose served labels cloudshift cannot compare with a numeric holdout label. */
export class UnsupportedModelOutput extends NonRetryableError {
  constructor(message: string) {
    super('UnsupportedModelOutput', message);
  }
}

/** ONNX Runtime refused to run the model on a batch: the same model on the same rows fails the same way. */
export class ModelRunFailed extends NonRetryableError {
  constructor(message: string) {
    super('ModelRunFailed', message);
  }
}

/** Messages of ONNX Runtime that a retry, elsewhere or later, may not meet: memory. */
const TRANSIENT_RUN_ERROR = /Failed to allocate|bad_alloc|out of memory|CUDA error/i;

/**
 * Runs one batch of rows (row-major float32 features) through the model as `iface` reads it (see
 * model-interface.ts). `classes` are the model's class labels in column order (see
 * onnx-classes.ts; string classes by their codes); without them column k is taken to be class k.
 */
export async function predict(session: ort.InferenceSession, iface: ModelInterface, features: Float32Array, rows: number, classes?: readonly number[], firstRow = 1): Promise<Predictions> {
  const width = rows === 0 ? 0 : features.length / rows;
  const feeds = feedsOf(iface.feeds, features, rows, width, (type, data, dims) => new ort.Tensor(type, data as never, dims), firstRow);
  let output: ort.InferenceSession.ReturnType;
  try {
    output = await session.run(feeds, iface.fetches);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    if (TRANSIENT_RUN_ERROR.test(message)) throw error;
    throw new ModelRunFailed(`ONNX Runtime could not run the model on holdout rows ${firstRow}-${firstRow + rows - 1} (inputs ${iface.feeds.map((f) => `${f.name} ${f.type} [${rows}, ${f.columns?.length ?? width}]`).join(', ')}): ${message}`);
  }
  if (iface.value) {
    const value = output[iface.value]!;
    return { scores: Float64Array.from(value.data as Float32Array | Float64Array), columns: 0 };
  }
  const labels = iface.label ? servedLabels(output[iface.label.name]!, rows) : undefined;
  const p = iface.probabilities ? output[iface.probabilities.name] : undefined;
  if (!p) return classifierPredictions(undefined, 0, rows, labels, classes);
  const probabilityWidth = p.dims[p.dims.length - 1] ?? 1;
  if (p.type !== 'float32' && p.type !== 'float64') {
    throw new UnsupportedModelOutput(`the model's probabilities ${iface.probabilities!.name} are ${p.type}; cloudshift reads a float tensor of shape [rows, classes]`);
  }
  if (classes && classes.length !== probabilityWidth) {
    throw new UnsupportedModelOutput(`the model names ${classes.length} class labels but its probabilities ${iface.probabilities!.name} have ${probabilityWidth} columns`);
  }
  return classifierPredictions(Float32Array.from(p.data as Float32Array | Float64Array), probabilityWidth, rows, labels, classes);
}

/**
 * A classifier's predictions from its probabilities (row-major, `width` a row) and the labels it
 * served, however they were answered (in the worker, or by a server over V2): each row's label is
 * the served one, else the most probable class; its score the probability of the larger class
 * label for a binary model (scikit-learn's positive class, wherever its column is), else of the
 * winning class. Without probabilities (a label-only model) the score is the label.
 */
export function classifierPredictions(p: Float32Array | undefined, width: number, rows: number, served: ArrayLike<number> | undefined, classes?: readonly number[]): Predictions {
  const scores = new Float64Array(rows);
  const labels = new Float64Array(rows);
  const positive = width === 2 ? (classes ? (classes[1]! > classes[0]! ? 1 : 0) : 1) : -1;
  for (let r = 0; r < rows; r++) {
    let best = 0;
    if (p) for (let c = 1; c < width; c++) if (p[r * width + c]! > p[r * width + best]!) best = c;
    labels[r] = served ? served[r]! : classes ? classes[best]! : best;
    scores[r] = p ? (positive >= 0 ? p[r * width + positive]! : p[r * width + best]!) : labels[r]!;
  }
  return { scores, labels, ...(p ? { probabilities: p } : {}), columns: width };
}

/** The model's label output as numbers (string classes by their codes, class-codes.ts). */
function servedLabels(label: ort.Tensor, rows: number): Float64Array {
  const data = label.data as ArrayLike<number | bigint | string>;
  if (data.length !== rows) throw new UnsupportedModelOutput(`the model's label output has ${data.length} values for ${rows} rows`);
  if (label.type === 'string') return Float64Array.from({ length: rows }, (_, r) => classCode(data[r] as string));
  return Float64Array.from({ length: rows }, (_, r) => Number(data[r]!));
}

/** A model ready to predict: its session, how it is fed and read, and its classes (string ones by their codes). */
export interface OpenedModel extends LoadedSession {
  iface: ModelInterface;
  classes?: number[];
  /** The class labels as the model names them, where they are strings (column order, as `classes`). */
  classNames?: string[];
}

/**
 * Loads the model and reads its interface before anything is fed to it (model-interface.ts): a
 * ZipMap's probabilities are read where the ZipMap reads them, string classes by their codes. An
 * interface the holdout cannot feed is a ModelInterfaceMismatch, thrown here, not in the first batch.
 */
export async function openModel(model: Uint8Array, options: SessionOptions, expected: Omit<InterfaceExpectations, 'zipMapProbabilities'> = {}): Promise<OpenedModel> {
  const zipMap = zipMapInput(model);
  const loaded = await loadSession(zipMap ? withFloatOutput(model, zipMap.input) : model, options);
  try {
    const iface = planInterface(loaded.session.inputMetadata, loaded.session.outputMetadata.filter((m) => m.name !== zipMap?.output), { ...expected, ...(zipMap ? { zipMapProbabilities: zipMap.input } : {}) });
    const modelClasses = onnxClassLabels(model);
    if (modelClasses?.kind === 'string') return { ...loaded, iface, classes: classCodes(modelClasses.values), classNames: modelClasses.values };
    return { ...loaded, iface, ...(modelClasses ? { classes: modelClasses.values } : {}) };
  } catch (error) {
    await loaded.session.release();
    throw error;
  }
}
