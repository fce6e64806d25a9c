/**
 * The Open Inference Protocol (KServe V2, Triton's HTTP/REST protocol), as cloudshift speaks it
 * with any server: the shapes of model metadata and of an inference request and response, read
 * with zod at the boundary, and the check of a served model against the ONNX model and the
 * holdout before any traffic moves. Pure: no I/O (oip-client.ts does the HTTP).
 */
import { z } from 'zod';
import { NonRetryableError } from '../errors.js';

/** Tensor datatypes of the protocol. */
export const V2_DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type V2Datatype = (typeof V2_DATATYPES)[number];

/** An ONNX tensor element type as the protocol names it (Triton's mapping). */
export const ONNX_TO_V2: Record<string, V2Datatype> = {
  float32: 'FP32',
  float64: 'FP64',
  float16: 'FP16',
  int64: 'INT64',
  int32: 'INT32',
  int16: 'INT16',
  int8: 'INT8',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};

const tensorMetadata = z.object({ name: z.string().min(1), datatype: z.string().min(1), shape: z.array(z.number().int()) });
export type TensorMetadata = z.output<typeof tensorMetadata>;

export const modelMetadataSchema = z.object({
  name: z.string().min(1),
  versions: z.array(z.string()).optional(),
  platform: z.string().optional(),
  inputs: z.array(tensorMetadata).min(1),
  outputs: z.array(tensorMetadata).min(1),
});
export type ModelMetadata = z.output<typeof modelMetadataSchema>;

const tensorData = z.array(z.unknown());
const responseOutput = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number().int()), data: tensorData });
export const inferResponseSchema = z.object({
  model_name: z.string().optional(),
  model_version: z.string().optional(),
  id: z.string().optional(),
  outputs: z.array(responseOutput).min(1),
});
export type InferResponse = z.output<typeof inferResponseSchema>;
export type ResponseOutput = z.output<typeof responseOutput>;

export interface InferRequestInput {
  name: string;
  shape: number[];
  datatype: V2Datatype;
  data: (number | boolean)[];
}

/** The numeric datatypes a holdout's columns are sent as. */
export const SENDABLE_DATATYPES = ['FP32', 'FP64', 'INT64', 'INT32', 'BOOL'] as const;
export type SendableDatatype = (typeof SENDABLE_DATATYPES)[number];

/** One input a request carries: its name and datatype, and the holdout columns it takes (absent: every one, in order). */
export interface ServedInput {
  name: string;
  datatype: SendableDatatype;
  columns?: number[];
}

/** A request for a batch of holdout rows, each input taking its columns, row-major, as the protocol's JSON takes it. */
export function inferRequest(inputs: ServedInput | readonly ServedInput[], rows: readonly (readonly number[])[], outputs?: readonly string[], id?: string): { id?: string; inputs: InferRequestInput[]; outputs?: { name: string }[] } {
  const list = Array.isArray(inputs) ? (inputs as readonly ServedInput[]) : [inputs as ServedInput];
  const width = rows[0]?.length ?? 0;
  return {
    ...(id ? { id } : {}),
    inputs: list.map((input) => {
      const columns = input.columns ?? Array.from({ length: width }, (_, c) => c);
      const data: (number | boolean)[] = new Array(rows.length * columns.length);
      rows.forEach((row, r) => {
        for (let c = 0; c < columns.length; c++) {
          const v = row[columns[c]!]!;
          data[r * columns.length + c] = input.datatype === 'BOOL' ? v !== 0 : v;
        }
      });
      return { name: input.name, shape: [rows.length, columns.length], datatype: input.datatype, data };
    }),
    ...(outputs?.length ? { outputs: outputs.map((name) => ({ name })) } : {}),
  };
}

/** A model's metadata, a request or a response that is not what the check or the caller expected: no retry changes it. */
export class EndpointMismatch extends NonRetryableError {
  constructor(message: string, context: Record<string, string> = {}) {
    super('EndpointMismatch', message, context);
  }
}

/** Which served output carries what. */
export interface OutputMapping {
  /** The output holding each row's class; classifiers. */
  label?: string;
  /** The output holding every class's probability, [rows, classes]; classifiers. */
  probabilities?: string;
  /** The output holding each row's value; regressors. */
  value?: string;
}

/** The mapping a metadata implies where the spec says nothing: the names skl2onnx and Triton use. */
export function defaultOutputs(metadata: Pick<ModelMetadata, 'outputs'>, task: 'binary' | 'multiclass' | 'regression'): OutputMapping {
  const names = metadata.outputs.map((o) => o.name);
  if (task === 'regression') return { value: names[0]! };
  const probabilities = ['probabilities', 'output_probability', 'probability'].find((n) => names.includes(n));
  const label = ['label', 'output_label'].find((n) => names.includes(n));
  return { ...(label ? { label } : {}), ...(probabilities ? { probabilities } : {}) };
}

/** A served model as cloudshift talks to it, once checked: what the canary's load and the shadow send. */
export interface ServedModel {
  url: string;
  model: string;
  version?: string;
  /** The first (or only) input; `inputs` where there are several, or it is not a float tensor of every column. */
  input: { name: string; datatype: 'FP32' | 'FP64' };
  inputs?: ServedInput[];
  outputs: OutputMapping;
  /** The ONNX model's class labels, where it is a classifier (string classes by their codes, class-codes.ts). */
  classes?: number[];
  /** String classes as the model names them, in the order of `classes`. */
  classNames?: string[];
}

/** What a request carries for this model: its inputs, or its one input of every column. */
export const servedInputs = (served: Pick<ServedModel, 'input' | 'inputs'>): ServedInput[] => served.inputs ?? [served.input];

export interface ExpectedInterface {
  /**
   * The served model's inputs: one numeric tensor of the holdout's features (no name), or the
   * inputs workload.holdout.inputs maps, by name, each of its columns.
   */
  inputs: { name?: string; width: number }[];
  task: 'binary' | 'multiclass' | 'regression';
  /** The ONNX model's class count, where known. */
  classes?: number;
  outputs: OutputMapping;
}

const FLOAT_TYPES = new Set(['FP32', 'FP64', 'FP16']);
const LABEL_TYPES = new Set(['INT64', 'INT32', 'INT16', 'INT8', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'FP32', 'FP64', 'BYTES']);

/** A dimension the server may leave open (-1), or must equal. */
const dimensionFits = (served: number | undefined, wanted: number) => served === -1 || served === wanted;

/**
 * What is wrong with a served model for this migration, each problem naming the field and both
 * values; empty when nothing is. Checked before any traffic moves: a server that answers another
 * shape, datatype or class set would otherwise be found only by the shadow gate or the canary.
 */
export function interfaceProblems(metadata: ModelMetadata, expected: ExpectedInterface): string[] {
  const problems: string[] = [];
  const sent = expected.inputs;
  if (metadata.inputs.length !== sent.length) {
    problems.push(
      `inputs: the server has ${metadata.inputs.length} (${metadata.inputs.map((i) => i.name).join(', ')}), cloudshift sends ${sent.length === 1 && !sent[0]!.name ? `one tensor of the holdout's ${sent[0]!.width} features` : `${sent.length} (${sent.map((i) => i.name).join(', ')}), as workload.holdout.inputs maps them`}${metadata.inputs.length > 1 && sent.length === 1 && !sent[0]!.name ? "; map the holdout's columns to its inputs with workload.holdout.inputs" : ''}`,
    );
  } else {
    sent.forEach((want, i) => {
      const input = want.name ? metadata.inputs.find((m) => m.name === want.name) : metadata.inputs[i]!;
      if (!input) {
        problems.push(`inputs.${want.name}: the server has no such input (it has ${metadata.inputs.map((m) => m.name).join(', ')})`);
        return;
      }
      if (!(SENDABLE_DATATYPES as readonly string[]).includes(input.datatype)) problems.push(`inputs.${input.name}.datatype: the server takes ${input.datatype}; the holdout's columns are sent as ${SENDABLE_DATATYPES.join(', ')}`);
      const width = input.shape.at(-1);
      if (input.shape.length !== 2 || !dimensionFits(width, want.width)) {
        problems.push(`inputs.${input.name}.shape: the server takes [${input.shape.join(', ')}], the holdout gives [-1, ${want.width}]`);
      }
    });
  }
  const byName = new Map(metadata.outputs.map((o) => [o.name, o]));
  const served = [...byName.keys()].join(', ');
  const need = (role: keyof OutputMapping): TensorMetadata | undefined => {
    const name = expected.outputs[role];
    if (!name) return undefined;
    const output = byName.get(name);
    if (!output) problems.push(`outputs.${role}: the spec reads "${name}", the server has ${served}`);
    return output;
  };
  if (expected.task === 'regression') {
    const value = need('value');
    if (value && !FLOAT_TYPES.has(value.datatype)) problems.push(`outputs.${value.name}.datatype: the server answers ${value.datatype}, a regression's values are FP32 or FP64`);
    return problems;
  }
  if (!expected.outputs.label && !expected.outputs.probabilities) {
    problems.push(`outputs: a classifier needs a label or a probabilities output; the server has ${served} (name them in workload.endpoints.source.outputs)`);
  }
  const label = need('label');
  if (label && !LABEL_TYPES.has(label.datatype)) problems.push(`outputs.${label.name}.datatype: the server answers ${label.datatype}; class labels are integers or strings (BYTES)`);
  const probabilities = need('probabilities');
  if (probabilities) {
    if (!FLOAT_TYPES.has(probabilities.datatype)) problems.push(`outputs.${probabilities.name}.datatype: the server answers ${probabilities.datatype}, probabilities are FP32 or FP64`);
    const columns = probabilities.shape.at(-1);
    if (expected.classes !== undefined && (probabilities.shape.length !== 2 || !dimensionFits(columns, expected.classes))) {
      problems.push(`outputs.${probabilities.name}.shape: the server answers [${probabilities.shape.join(', ')}], the ONNX model has ${expected.classes} classes ([-1, ${expected.classes}])`);
    }
  }
  return problems;
}

/** One output of a response as numbers, checked for its row count (and columns); `strings` reads text (BYTES class labels) by its class code. */
export function outputValues(response: InferResponse, name: string, rows: number, where: string, strings?: (text: string) => number): { values: number[]; columns: number; datatype: string } {
  const output = response.outputs.find((o) => o.name === name);
  if (!output) throw new EndpointMismatch(`${where}: the answer has no output "${name}" (it has ${response.outputs.map((o) => o.name).join(', ')})`);
  const values: number[] = [];
  for (const v of output.data.flat(8) as unknown[]) {
    if (typeof v === 'number') values.push(v);
    else if (typeof v === 'boolean') values.push(Number(v));
    // JSON has no NaN or infinities: servers write null or the words. A model that answers them
    // is the shadow gate's to judge (finiteValues), not a protocol error.
    else if (v === null || v === 'NaN') values.push(Number.NaN);
    else if (typeof v === 'string' && strings) values.push(strings(v));
    else if (v === 'Infinity' || v === 'inf') values.push(Number.POSITIVE_INFINITY);
    else if (v === '-Infinity' || v === '-inf') values.push(Number.NEGATIVE_INFINITY);
    else throw new EndpointMismatch(`${where}: output "${name}" holds ${JSON.stringify(v)?.slice(0, 40)} (${output.datatype}); cloudshift reads numbers`);
  }
  if (values.length === 0 || values.length % rows !== 0) {
    throw new EndpointMismatch(`${where}: output "${name}" has ${values.length} values for ${rows} rows (shape [${output.shape.join(', ')}])`);
  }
  return { values, columns: values.length / rows, datatype: output.datatype };
}
