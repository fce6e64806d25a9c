/**
 * A model's interface read from its session, then adapted to: which holdout columns feed which
 * input (of which type), and which output is the label, the probabilities or the value. Read once,
 * before the first batch, so a model the holdout cannot feed, or whose answer cloudshift cannot
 * read, is refused at once, naming the input or output, what it has and what was expected.
 * skl2onnx's exports are taken as they come: a ZipMap (its probability matrix is read where the
 * ZipMap reads it, see onnx-classes.ts), string class labels, several inputs, integer inputs, and
 * classifiers with a label and no probabilities.
 */
import type * as ort from 'onnxruntime-node';
import { NonRetryableError } from '../errors.js';

/** The input types a holdout's numbers can feed. */
const FEEDABLE = ['float32', 'float64', 'int64', 'int32', 'bool'] as const;
export type FeedType = (typeof FEEDABLE)[number];

export interface FeedPlan {
  name: string;
  type: FeedType;
  /** Indices into the holdout's features, in the input's column order; absent, every column as it comes. */
  columns?: number[];
}

export interface ModelInterface {
  feeds: FeedPlan[];
  /** Outputs fetched: only tensors, so a model's non-tensor outputs never reach onnxruntime-node's reader. */
  fetches: string[];
  label?: { name: string; strings: boolean };
  probabilities?: { name: string; fromZipMap: boolean };
  value?: string;
}

/** The model cannot be fed by this holdout, or answers what cloudshift cannot read: no retry changes that. */
export class ModelInterfaceMismatch extends NonRetryableError {
  constructor(message: string) {
    super('ModelInterfaceMismatch', message);
  }
}

export interface InterfaceExpectations {
  /** The holdout's feature columns; absent (an endpoint serving whatever rows it is sent), one input takes each row whole. */
  features?: readonly string[];
  /** `workload.holdout.inputs`: the holdout columns each input takes, by input name. */
  inputs?: Readonly<Record<string, readonly string[]>>;
  /** Absent: a classifier where the model answers a label or probabilities, else a regressor. */
  task?: 'binary' | 'multiclass' | 'regression';
  /** The ZipMap's input, added as an output (onnx-classes.ts), where the model ends in a ZipMap. */
  zipMapProbabilities?: string;
}

type Metadata = ort.InferenceSession.ValueMetadata;
type TensorMetadata = Extract<Metadata, { isTensor: true }>;

const describe = (m: Metadata) => (m.isTensor ? `${m.name} ${m.type} [${m.shape.map((d) => (typeof d === 'number' ? d : '?')).join(', ')}]` : `${m.name} (not a tensor)`);
/** The width a tensor input declares per row, or undefined where it is open. */
const declaredWidth = (m: TensorMetadata): number | undefined => {
  if (m.shape.length < 2) return m.shape.length === 1 ? 1 : undefined;
  const last = m.shape[m.shape.length - 1];
  return typeof last === 'number' && last > 0 ? m.shape.slice(1).reduce<number>((n, d) => n * (d as number), 1) : undefined;
};

export function planInterface(inputs: readonly Metadata[], outputs: readonly Metadata[], expected: InterfaceExpectations): ModelInterface {
  return { feeds: planFeeds(inputs, expected), ...planOutputs(outputs, expected) };
}

function planFeeds(inputs: readonly Metadata[], expected: InterfaceExpectations): FeedPlan[] {
  const { features } = expected;
  const tensor = (m: Metadata): TensorMetadata => {
    if (!m.isTensor) throw new ModelInterfaceMismatch(`the model's input ${m.name} is not a tensor; cloudshift feeds tensors of the holdout's numbers`);
    if (!(FEEDABLE as readonly string[]).includes(m.type)) {
      throw new ModelInterfaceMismatch(`the model's input ${describe(m)} is of type ${m.type}; the holdout's features are numbers, fed as ${FEEDABLE.join(', ')}: export the model with numeric inputs`);
    }
    return m;
  };
  if (!features) {
    // A server's rows: one input takes each row whole; several take consecutive blocks of it, in
    // the model's input order (what the V2 request's named inputs are joined into).
    if (inputs.length === 1) {
      const m = inputs[0]!;
      if (!m.isTensor || !(FEEDABLE as readonly string[]).includes(m.type)) throw new ModelInterfaceMismatch(`the model's input ${describe(m)} is not a tensor of numbers`);
      return [{ name: m.name, type: m.type as FeedType }];
    }
    let at = 0;
    return inputs.map((m) => {
      const t = tensor(m);
      const width = declaredWidth(t);
      if (width === undefined) throw new ModelInterfaceMismatch(`the model's input ${describe(m)} does not declare its width; with several inputs, each must`);
      at += width;
      return { name: m.name, type: t.type as FeedType, columns: Array.from({ length: width }, (_, i) => at - width + i) };
    });
  }
  const index = new Map(features.map((f, i) => [f, i]));
  const plan = (m: TensorMetadata, columns: number[], from: string): FeedPlan & { columns: number[] } => {
    const width = declaredWidth(m);
    if (width !== undefined && width !== columns.length) {
      throw new ModelInterfaceMismatch(`the model's input ${describe(m)} takes ${width} values a row; ${from} gives it ${columns.length}`);
    }
    return { name: m.name, type: m.type as FeedType, columns };
  };
  if (expected.inputs) {
    const names = new Set(inputs.map((m) => m.name));
    const unknown = Object.keys(expected.inputs).filter((n) => !names.has(n));
    if (unknown.length) throw new ModelInterfaceMismatch(`workload.holdout.inputs names ${unknown.join(', ')}, which the model does not take; its inputs are ${inputs.map(describe).join(', ')}`);
    return inputs.map((m) => {
      const columns = expected.inputs![m.name];
      if (!columns) throw new ModelInterfaceMismatch(`workload.holdout.inputs does not map the model's input ${describe(m)}; map a list of holdout columns to it`);
      return plan(
        tensor(m),
        columns.map((c) => {
          const at = index.get(c);
          if (at === undefined) throw new ModelInterfaceMismatch(`workload.holdout.inputs.${m.name} names the column ${c}, which is not one of workload.holdout.features`);
          return at;
        }),
        `workload.holdout.inputs.${m.name}`,
      );
    });
  }
  if (inputs.length === 1) return [plan(tensor(inputs[0]!), features.map((_, i) => i), `workload.holdout.features (${features.length} columns)`)];
  // One input per column, named as the holdout's columns: skl2onnx's export of a DataFrame.
  if (inputs.length > 1 && inputs.every((m) => index.has(m.name) && m.isTensor && (declaredWidth(m) ?? 1) === 1)) {
    return inputs.map((m) => plan(tensor(m), [index.get(m.name)!], `the holdout column ${m.name}`));
  }
  throw new ModelInterfaceMismatch(
    `the model has ${inputs.length} inputs (${inputs.map(describe).join('; ')}) and the holdout's columns cannot be matched to them by name; map them with workload.holdout.inputs, e.g. { ${inputs.map((m) => `${m.name}: [...]`).join(', ')} }`,
  );
}

const LABEL_NAMES = ['label', 'output_label'];
const PROBABILITY_NAMES = ['probabilities', 'output_probability', 'probability'];
const INTEGER_TYPES = new Set(['int64', 'int32', 'int16', 'int8', 'uint8', 'uint16', 'uint32', 'uint64']);
const FLOAT_TYPES = new Set(['float32', 'float64', 'float16']);

function planOutputs(outputs: readonly Metadata[], expected: InterfaceExpectations): Omit<ModelInterface, 'feeds'> {
  const tensors = outputs.filter((m): m is TensorMetadata => m.isTensor);
  const all = outputs.map(describe).join(', ') || 'none';
  const classifierLike = expected.zipMapProbabilities !== undefined || tensors.some((m) => LABEL_NAMES.includes(m.name) || PROBABILITY_NAMES.includes(m.name) || INTEGER_TYPES.has(m.type) || m.type === 'string');
  if (expected.task === 'regression' || (expected.task === undefined && !classifierLike)) {
    const value = tensors.find((m) => FLOAT_TYPES.has(m.type) && (declaredWidth(m) ?? 1) === 1);
    if (!value) throw new ModelInterfaceMismatch(`a regressor's output is one float value a row; the model's outputs are ${all}`);
    return { fetches: [value.name], value: value.name };
  }
  const labelOutput = tensors.find((m) => LABEL_NAMES.includes(m.name)) ?? tensors.find((m) => (INTEGER_TYPES.has(m.type) || m.type === 'string') && (declaredWidth(m) ?? 1) === 1);
  if (labelOutput && !INTEGER_TYPES.has(labelOutput.type) && labelOutput.type !== 'string') {
    throw new ModelInterfaceMismatch(`the model's label output ${describe(labelOutput)} is neither integer nor string classes`);
  }
  let probabilities: ModelInterface['probabilities'];
  if (expected.zipMapProbabilities) probabilities = { name: expected.zipMapProbabilities, fromZipMap: true };
  else {
    const named = tensors.find((m) => PROBABILITY_NAMES.includes(m.name));
    const found = named ?? tensors.find((m) => FLOAT_TYPES.has(m.type) && m !== labelOutput && m.shape.length === 2);
    if (found && !FLOAT_TYPES.has(found.type)) throw new ModelInterfaceMismatch(`the model's probability output ${describe(found)} is not a float tensor of shape [rows, classes]`);
    if (found) probabilities = { name: found.name, fromZipMap: false };
  }
  const nonTensor = outputs.filter((m) => !m.isTensor && m.name !== probabilities?.name);
  if (!labelOutput && !probabilities) {
    throw new ModelInterfaceMismatch(
      `a classifier answers a label, probabilities, or both; the model's outputs are ${all}${nonTensor.length ? ` (${nonTensor.map((m) => m.name).join(', ')} is a sequence or map cloudshift cannot read as it is: a ZipMap is read where it reads its probabilities; another needs an export with plain tensors)` : ''}`,
    );
  }
  return {
    fetches: [labelOutput?.name, probabilities?.name].filter((n): n is string => Boolean(n)),
    ...(labelOutput ? { label: { name: labelOutput.name, strings: labelOutput.type === 'string' } } : {}),
    ...(probabilities ? { probabilities } : {}),
  };
}

/** The rows as the model's inputs take them; an integer or boolean input refuses a value that is not one. */
export function feedsOf(plan: readonly FeedPlan[], features: Float32Array, rows: number, width: number, tensor: (type: FeedType, data: ArrayLike<number | bigint> | Float32Array, dims: number[]) => ort.Tensor, firstRow = 1): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of plan) {
    const columns = input.columns ?? Array.from({ length: width }, (_, i) => i);
    const n = columns.length;
    // The holdout's own layout: the batch is the input as it is.
    if (input.type === 'float32' && n === width && columns.every((c, i) => c === i)) {
      feeds[input.name] = tensor('float32', features, [rows, n]);
      continue;
    }
    const values = input.type === 'float64' ? new Float64Array(rows * n) : input.type === 'int64' ? new BigInt64Array(rows * n) : input.type === 'int32' ? new Int32Array(rows * n) : input.type === 'bool' ? new Uint8Array(rows * n) : new Float32Array(rows * n);
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < n; k++) {
        const v = features[r * width + columns[k]!]!;
        const at = r * n + k;
        if (input.type === 'float32' || input.type === 'float64') (values as Float32Array)[at] = v;
        else {
          if (!Number.isInteger(v) || (input.type === 'bool' && v !== 0 && v !== 1)) {
            throw new ModelInterfaceMismatch(`the model's input ${input.name} is ${input.type}, but holdout row ${firstRow + r} gives it ${v} (column ${k + 1} of the input): ${input.type === 'bool' ? 'use 0 or 1' : 'use whole numbers in the holdout, or export the model with float inputs'}`);
          }
          if (input.type === 'int64') (values as BigInt64Array)[at] = BigInt(v);
          else (values as Int32Array | Uint8Array)[at] = v;
        }
      }
    }
    feeds[input.name] = tensor(input.type, values, [rows, n]);
  }
  return feeds;
}
