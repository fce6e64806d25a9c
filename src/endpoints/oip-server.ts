/**
 * The server side of the Open Inference Protocol for cloudshift's own endpoint (server.ts): its
 * routes, the model's metadata read from the ONNX session (what Triton's ONNX backend reports),
 * a request's one float input checked and read as rows, and the answer's outputs by their ONNX
 * names. Every refusal is a 400 that names the field, what it holds and what was expected.
 */
import type * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { HttpError } from '../http/http.js';
import type { Predictions } from '../inference/session.js';
import { defaultOutputs, type ModelMetadata, ONNX_TO_V2, type TensorMetadata } from './oip.js';

export type V2Route = { kind: 'live' | 'ready' | 'server' | 'model' | 'modelReady' | 'infer' } | { kind: 'none'; error: string };

/** Which V2 route a request asks for; the model's name must be ours and its version, if any, the one served. */
export function v2Route(method: string, path: string, modelName: string, modelVersion = '1'): V2Route {
  const parts = path.replace(/\/+$/, '').split('/').slice(1).map((p) => decodeURIComponent(p));
  if (method === 'GET' && parts.length === 1) return { kind: 'server' };
  if (method === 'GET' && parts.length === 3 && parts[1] === 'health' && (parts[2] === 'live' || parts[2] === 'ready')) return { kind: parts[2] };
  if (parts[1] !== 'models' || parts.length < 3) return { kind: 'none', error: `no route ${method} ${path}` };
  if (parts[2] !== modelName) return { kind: 'none', error: `no model "${parts[2]}" here; this endpoint serves "${modelName}"` };
  let rest = parts.slice(3);
  if (rest[0] === 'versions') {
    if (rest[1] !== modelVersion) return { kind: 'none', error: `no version "${rest[1] ?? ''}" of "${modelName}"; this endpoint serves version ${modelVersion}` };
    rest = rest.slice(2);
  }
  if (method === 'GET' && rest.length === 0) return { kind: 'model' };
  if (method === 'GET' && rest.length === 1 && rest[0] === 'ready') return { kind: 'modelReady' };
  if (method === 'POST' && rest.length === 1 && rest[0] === 'infer') return { kind: 'infer' };
  return { kind: 'none', error: `no route ${method} ${path}` };
}

const tensorOf = (m: ort.InferenceSession.ValueMetadata): TensorMetadata | undefined =>
  m.isTensor ? { name: m.name, datatype: ONNX_TO_V2[m.type] ?? m.type.toUpperCase(), shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) } : undefined;

/** The model's metadata as a V2 server reports it: its inputs and its tensor outputs, by their ONNX names. */
export function v2Metadata(session: ort.InferenceSession, name: string, version = '1'): ModelMetadata {
  return {
    name,
    versions: [version],
    platform: 'onnxruntime_onnx',
    inputs: session.inputMetadata.map(tensorOf).filter((t): t is TensorMetadata => Boolean(t)),
    outputs: session.outputMetadata.map(tensorOf).filter((t): t is TensorMetadata => Boolean(t)),
  };
}

const requestSchema = z.object({
  id: z.string().max(256).optional(),
  inputs: z.array(z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number().int().nonnegative()), data: z.array(z.unknown()) })),
  outputs: z.array(z.object({ name: z.string() })).optional(),
});

/** The datatypes a request's inputs may carry (numbers; BOOL as true/false or 0/1). */
const NUMERIC = new Set(['FP32', 'FP64', 'FP16', 'INT64', 'INT32', 'INT16', 'INT8', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'BOOL']);

/**
 * A V2 request's rows, checked against the model's inputs: each by name, of its width, the same
 * rows in each. Several inputs are joined row by row in the model's input order (what the model
 * interface's blocks take apart again).
 */
export function parseV2Request(body: Buffer, metadata: ModelMetadata): { id?: string; rows: number[][]; outputs?: string[] } {
  let parsed: z.output<typeof requestSchema>;
  try {
    parsed = requestSchema.parse(JSON.parse(body.toString('utf8')));
  } catch {
    throw new HttpError(400, 'expected an inference request {"inputs": [{"name", "datatype", "shape", "data"}]}');
  }
  const names = metadata.inputs.map((m) => `"${m.name}"`).join(', ');
  if (parsed.inputs.length !== metadata.inputs.length) throw new HttpError(400, `inputs: expected ${metadata.inputs.length === 1 ? `one tensor ${names}` : `${metadata.inputs.length} tensors (${names})`}, got ${parsed.inputs.length}`);
  let rows: number | undefined;
  const blocks = metadata.inputs.map((expected, i) => {
    const input = metadata.inputs.length === 1 ? parsed.inputs[0]! : parsed.inputs.find((t) => t.name === expected.name);
    if (!input) throw new HttpError(400, `inputs: no tensor "${expected.name}" (got ${parsed.inputs.map((t) => `"${t.name}"`).join(', ')})`);
    if (input.name !== expected.name) throw new HttpError(400, `inputs[${i}].name: expected "${expected.name}", got "${input.name}"`);
    if (!NUMERIC.has(input.datatype)) throw new HttpError(400, `inputs.${input.name}.datatype: expected a numeric datatype (${expected.datatype}), got ${input.datatype}`);
    const width = expected.shape.at(-1) ?? -1;
    const [n, columns] = input.shape;
    if (input.shape.length !== 2 || n === undefined || columns === undefined || n === 0 || (width >= 0 && columns !== width)) {
      throw new HttpError(400, `inputs.${input.name}.shape: expected [rows, ${width >= 0 ? width : 'features'}], got [${input.shape.join(', ')}]`);
    }
    if (rows !== undefined && n !== rows) throw new HttpError(400, `inputs.${input.name}.shape: ${n} rows, the other inputs have ${rows}`);
    rows = n;
    const flat = input.data.flat(2) as unknown[];
    if (flat.length !== n * columns) throw new HttpError(400, `inputs.${input.name}.data: expected ${n * columns} values for shape [${n}, ${columns}], got ${flat.length}`);
    const bad = flat.findIndex((v) => typeof v !== 'number' && typeof v !== 'boolean');
    if (bad >= 0) throw new HttpError(400, `inputs.${input.name}.data[${bad}]: expected a number, got ${JSON.stringify(flat[bad])?.slice(0, 40)}`);
    return { columns, values: flat.map(Number) };
  });
  const outputs = parsed.outputs?.map((o) => o.name);
  const unknown = outputs?.find((o) => !metadata.outputs.some((m) => m.name === o));
  if (unknown) throw new HttpError(400, `outputs: no output "${unknown}"; the model has ${metadata.outputs.map((o) => o.name).join(', ')}`);
  const joined = Array.from({ length: rows! }, (_, r) => blocks.flatMap((b) => b.values.slice(r * b.columns, (r + 1) * b.columns)));
  return { ...(parsed.id ? { id: parsed.id } : {}), rows: joined, ...(outputs ? { outputs } : {}) };
}

/** The answer's outputs: label and probabilities for a classifier, the value for a regressor, under the model's names. */
export function v2Outputs(out: Predictions, metadata: ModelMetadata, requested?: readonly string[], classNames?: ReadonlyMap<number, string>) {
  const rows = out.scores.length;
  const roles = defaultOutputs(metadata, out.labels ? 'multiclass' : 'regression');
  const datatypeOf = (name: string) => metadata.outputs.find((o) => o.name === name)?.datatype ?? 'FP32';
  const outputs: { name: string; datatype: string; shape: number[]; data: (number | string)[] }[] = [];
  // String classes leave as the words they are (the predictions carry their codes).
  const label = (code: number) => (classNames ? (classNames.get(code) ?? String(code)) : code);
  if (roles.label && out.labels) outputs.push({ name: roles.label, datatype: datatypeOf(roles.label), shape: [rows], data: Array.from(out.labels, label) });
  if (roles.probabilities && out.probabilities) outputs.push({ name: roles.probabilities, datatype: datatypeOf(roles.probabilities), shape: [rows, out.columns], data: Array.from(out.probabilities) });
  if (roles.value && !out.labels) outputs.push({ name: roles.value, datatype: datatypeOf(roles.value), shape: [rows, 1], data: Array.from(out.scores) });
  return requested?.length ? outputs.filter((o) => requested.includes(o.name)) : outputs;
}
