/**
 * What an ONNX model says of itself — its opset, IR version and producer — read from the
 * ModelProto's top-level fields without a protobuf library (ONNX Runtime does not expose them).
 * Fields: 1 ir_version (varint), 2 producer_name, 3 producer_version (strings), 8 opset_import
 * (OperatorSetIdProto: 1 domain, 2 version).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The onnxruntime-node this worker runs, read from its package (loading the runtime is not needed to say it). */
export const ONNXRUNTIME_VERSION: string = (JSON.parse(readFileSync(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;

export interface OnnxModelInfo {
  irVersion?: number;
  producer?: string;
  /** The default (ai.onnx) domain's opset. */
  opset?: number;
  /** Every domain's opset, e.g. { "": 17, "ai.onnx.ml": 3 }. */
  opsets: Record<string, number>;
}

class Reader {
  offset = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly end = bytes.length,
  ) {}

  done(): boolean {
    return this.offset >= this.end;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.offset >= this.end) throw new Error('truncated varint');
      const byte = this.bytes[this.offset++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    throw new Error('varint longer than 10 bytes');
  }

  /** A length-delimited field's bounds. */
  span(): [number, number] {
    const length = this.varint();
    const start = this.offset;
    if (start + length > this.end) throw new Error('field runs past the end');
    this.offset += length;
    return [start, start + length];
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.offset += 8;
    else if (wireType === 2) this.span();
    else if (wireType === 5) this.offset += 4;
    else throw new Error(`wire type ${wireType} is not one ONNX uses`);
  }
}

const text = (bytes: Uint8Array, [start, end]: [number, number]) => Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');

/** Reads the header fields; a file that is not a ModelProto gives what could be read, or nothing. */
export function onnxModelInfo(bytes: Uint8Array): OnnxModelInfo {
  const info: OnnxModelInfo = { opsets: {} };
  const reader = new Reader(bytes);
  try {
    while (!reader.done()) {
      const key = reader.varint();
      const field = Math.floor(key / 8);
      const wireType = key & 7;
      if (field === 1 && wireType === 0) info.irVersion = reader.varint();
      else if ((field === 2 || field === 3) && wireType === 2) {
        const value = text(bytes, reader.span());
        info.producer = field === 2 ? `${value}${info.producer ?? ''}` : `${info.producer ?? ''} ${value}`;
      } else if (field === 8 && wireType === 2) {
        const [start, end] = reader.span();
        const inner = new Reader(bytes, end);
        inner.offset = start;
        let domain = '';
        let version: number | undefined;
        while (!inner.done()) {
          const innerKey = inner.varint();
          if (innerKey === (1 << 3) + 2) domain = text(bytes, inner.span());
          else if (innerKey === (2 << 3) + 0) version = inner.varint();
          else inner.skip(innerKey & 7);
        }
        if (version !== undefined) info.opsets[domain] = version;
      } else reader.skip(wireType);
    }
  } catch {
    // A damaged or foreign file: keep what was read; ONNX Runtime itself says what is wrong with it.
  }
  const opset = info.opsets[''] ?? info.opsets['ai.onnx'];
  if (opset !== undefined) info.opset = opset;
  if (info.producer) info.producer = info.producer.trim();
  return info;
}
