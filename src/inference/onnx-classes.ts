/**
 * The class labels an ONNX classifier serves, read from the model itself: the
 * `classlabels_int64s` or `classlabels_strings` attribute of its classifier node (ai.onnx.ml's
 * LinearClassifier, TreeEnsembleClassifier, SVMClassifier, ZipMap…). Column k of the probability
 * output is the probability of class classes[k]; the label output is one of them. Without this,
 * a model whose labels are permuted against its columns looks identical to one that is not.
 *
 * onnxruntime-node does not expose node attributes, so this walks the protobuf wire format for
 * the few fields it needs (ModelProto.graph = 7, GraphProto.node = 1, NodeProto.attribute = 5,
 * AttributeProto.name = 1, .ints = 8, .strings = 9) and skips everything else by wire type.
 */
import { NonRetryableError } from '../errors.js';

export type ModelClasses = { kind: 'int'; values: number[] } | { kind: 'string'; values: string[] };

const CLASS_ATTRIBUTES = new Set(['classlabels_int64s', 'classlabels_ints', 'classlabels_strings']);

export class OnnxFormatError extends NonRetryableError {
  constructor(message: string) {
    super('OnnxFormatError', message);
  }
}

class Reader {
  at = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly end = bytes.length,
    start = 0,
  ) {
    this.at = start;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.at >= this.end) throw new OnnxFormatError('the model ends inside a varint');
      const b = this.bytes[this.at++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asIntN(64, result);
    }
    throw new OnnxFormatError('a varint longer than 10 bytes');
  }

  /** Yields [field, wireType, start, end] for length-delimited fields, and skips the rest. */
  *fields(): Generator<{ field: number; wire: number; start: number; end: number; value?: bigint }> {
    while (this.at < this.end) {
      const tag = Number(this.varint());
      const field = tag >>> 3;
      const wire = tag & 7;
      if (wire === 0) {
        const value = this.varint();
        yield { field, wire, start: this.at, end: this.at, value };
      } else if (wire === 2) {
        const length = Number(this.varint());
        const start = this.at;
        if (length < 0 || start + length > this.end) throw new OnnxFormatError('a field runs past the end of its message');
        this.at += length;
        yield { field, wire, start, end: start + length };
      } else if (wire === 1) this.at += 8;
      else if (wire === 5) this.at += 4;
      else throw new OnnxFormatError(`unsupported protobuf wire type ${wire}`);
    }
  }
}

/** TensorProto.data_type values of the integer tensors a class list is stored in. */
const INT32 = 6;
const INT64 = 7;

/**
 * The classes of the model's classifier node, or undefined where it has none (a regressor). Two
 * places hold them: the classlabels attribute of an ai.onnx.ml classifier, or — where the label
 * is computed by ordinary ops, as skl2onnx does for an MLP — the integer initializer that an
 * ArrayFeatureExtractor picks the label from by the winning column.
 */
export function onnxClassLabels(model: Uint8Array): ModelClasses | undefined {
  const text = new TextDecoder('utf-8', { fatal: false });
  const initializers = new Map<string, number[]>();
  const extractorSources: string[] = [];
  for (const graph of new Reader(model).fields()) {
    if (graph.field !== 7 || graph.wire !== 2) continue;
    for (const entry of new Reader(model, graph.end, graph.start).fields()) {
      if (entry.wire !== 2) continue;
      if (entry.field === 5) {
        const tensor = readIntegerTensor(model, entry.start, entry.end, text);
        if (tensor) initializers.set(tensor.name, tensor.values);
        continue;
      }
      if (entry.field !== 1) continue;
      let opType = '';
      const inputs: string[] = [];
      for (const field of new Reader(model, entry.end, entry.start).fields()) {
        if (field.field === 1 && field.wire === 2) inputs.push(text.decode(model.subarray(field.start, field.end)));
        else if (field.field === 4 && field.wire === 2) opType = text.decode(model.subarray(field.start, field.end));
        if (field.field !== 5 || field.wire !== 2) continue;
        let name = '';
        const ints: number[] = [];
        const strings: string[] = [];
        const fields = new Reader(model, field.end, field.start);
        for (const f of fields.fields()) {
          if (f.field === 1 && f.wire === 2) name = text.decode(model.subarray(f.start, f.end));
          else if (f.field === 8 && f.wire === 0) ints.push(Number(f.value!));
          else if (f.field === 8 && f.wire === 2) {
            const packed = new Reader(model, f.end, f.start);
            while (packed.at < packed.end) ints.push(Number(packed.varint()));
          } else if (f.field === 9 && f.wire === 2) strings.push(text.decode(model.subarray(f.start, f.end)));
        }
        if (!CLASS_ATTRIBUTES.has(name)) continue;
        if (name === 'classlabels_strings' && strings.length) return { kind: 'string', values: strings };
        if (ints.length) return { kind: 'int', values: ints };
      }
      if (opType === 'ArrayFeatureExtractor' && inputs[0]) extractorSources.push(inputs[0]);
    }
  }
  for (const source of extractorSources) {
    const values = initializers.get(source);
    if (values?.length) return { kind: 'int', values };
  }
  return undefined;
}

/** An integer initializer's name and values (TensorProto: name = 8, data_type = 2, int32_data = 5, int64_data = 7, raw_data = 9). */
function readIntegerTensor(model: Uint8Array, start: number, end: number, text: InstanceType<typeof TextDecoder>): { name: string; values: number[] } | undefined {
  let name = '';
  let type = 0;
  const values: number[] = [];
  let raw: Uint8Array | undefined;
  for (const f of new Reader(model, end, start).fields()) {
    if (f.field === 8 && f.wire === 2) name = text.decode(model.subarray(f.start, f.end));
    else if (f.field === 2 && f.wire === 0) type = Number(f.value!);
    else if ((f.field === 5 || f.field === 7) && f.wire === 0) values.push(Number(f.value!));
    else if ((f.field === 5 || f.field === 7) && f.wire === 2) {
      const packed = new Reader(model, f.end, f.start);
      while (packed.at < packed.end) values.push(Number(packed.varint()));
    } else if (f.field === 9 && f.wire === 2) raw = model.subarray(f.start, f.end);
  }
  if (type !== INT32 && type !== INT64) return undefined;
  if (raw && values.length === 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const width = type === INT32 ? 4 : 8;
    for (let at = 0; at + width <= raw.length; at += width) values.push(type === INT32 ? view.getInt32(at, true) : Number(view.getBigInt64(at, true)));
  }
  return { name, values };
}

/**
 * skl2onnx's default classifier export ends in a ZipMap: its probability output is a sequence of
 * maps, which onnxruntime-node cannot return ("Non tensor type is temporarily not supported").
 * The tensor the ZipMap reads is the probability matrix, columns in the order of its class labels.
 * This finds that tensor's name, or undefined where the model has no ZipMap.
 */
export function zipMapInput(model: Uint8Array): { input: string; output: string } | undefined {
  const text = new TextDecoder('utf-8', { fatal: false });
  for (const graph of new Reader(model).fields()) {
    if (graph.field !== 7 || graph.wire !== 2) continue;
    for (const node of new Reader(model, graph.end, graph.start).fields()) {
      if (node.field !== 1 || node.wire !== 2) continue;
      let opType = '';
      const inputs: string[] = [];
      const outputs: string[] = [];
      for (const f of new Reader(model, node.end, node.start).fields()) {
        if (f.wire !== 2) continue;
        if (f.field === 1) inputs.push(text.decode(model.subarray(f.start, f.end)));
        else if (f.field === 2) outputs.push(text.decode(model.subarray(f.start, f.end)));
        else if (f.field === 4) opType = text.decode(model.subarray(f.start, f.end));
      }
      if (opType === 'ZipMap' && inputs[0] && outputs[0]) return { input: inputs[0], output: outputs[0] };
    }
  }
  return undefined;
}

/**
 * The model with one more graph output: a float tensor already computed inside it (a ZipMap's
 * input). Only GraphProto.output (12) gains an entry — a ValueInfoProto of the name and a float
 * tensor type — and the lengths around it are re-encoded; the nodes and weights are the bytes
 * that were stored, so the model computes exactly what it did.
 */
export function withFloatOutput(model: Uint8Array, name: string): Uint8Array {
  const tensorType = concat([varintField(1, 1)]); // TypeProto.Tensor { elem_type: FLOAT }
  const valueInfo = concat([field(1, new TextEncoder().encode(name)), field(2, field(1, tensorType))]);
  const reader = new Reader(model);
  while (reader.at < reader.end) {
    const tagStart = reader.at;
    const tag = Number(reader.varint());
    const wire = tag & 7;
    if (wire === 0) reader.varint();
    else if (wire === 1) reader.at += 8;
    else if (wire === 5) reader.at += 4;
    else if (wire === 2) {
      const length = Number(reader.varint());
      const start = reader.at;
      if (length < 0 || start + length > reader.end) throw new OnnxFormatError('a field runs past the end of its message');
      reader.at += length;
      if (tag >>> 3 === 7) return concat([model.subarray(0, tagStart), field(7, concat([model.subarray(start, start + length), field(12, valueInfo)])), model.subarray(reader.at)]);
    } else throw new OnnxFormatError(`unsupported protobuf wire type ${wire}`);
  }
  throw new OnnxFormatError('the model has no graph');
}

function varint(value: number): Uint8Array {
  const bytes: number[] = [];
  let v = value;
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    bytes.push(b);
  } while (v > 0);
  return Uint8Array.from(bytes);
}
/** A length-delimited field (wire type 2) holding `payload`. */
const field = (number: number, payload: Uint8Array): Uint8Array => concat([varint((number << 3) | 2), varint(payload.length), payload]);
/** A varint field (wire type 0). */
const varintField = (number: number, value: number): Uint8Array => concat([varint(number << 3), varint(value)]);
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
