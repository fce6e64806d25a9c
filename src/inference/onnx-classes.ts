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

export type ModelClasses = { kind: 'int'; values: number[] } | { kind: 'string'; values: string[] };

const CLASS_ATTRIBUTES = new Set(['classlabels_int64s', 'classlabels_ints', 'classlabels_strings']);

export class OnnxFormatError extends Error {
  override readonly name = 'OnnxFormatError';
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

/** The classes of the model's classifier node, or undefined where it has none (a regressor, or labels made by other ops). */
export function onnxClassLabels(model: Uint8Array): ModelClasses | undefined {
  const text = new TextDecoder('utf-8', { fatal: false });
  for (const graph of new Reader(model).fields()) {
    if (graph.field !== 7 || graph.wire !== 2) continue;
    for (const node of new Reader(model, graph.end, graph.start).fields()) {
      if (node.field !== 1 || node.wire !== 2) continue;
      for (const attribute of new Reader(model, node.end, node.start).fields()) {
        if (attribute.field !== 5 || attribute.wire !== 2) continue;
        let name = '';
        const ints: number[] = [];
        const strings: string[] = [];
        const fields = new Reader(model, attribute.end, attribute.start);
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
    }
  }
  return undefined;
}
