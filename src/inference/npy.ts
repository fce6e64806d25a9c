/**
 * The header of a NumPy .npy file (what `numpy.save` writes): magic, version, then a Python dict
 * literal giving the element type, the memory order and the shape; the array's bytes follow.
 * Only what a holdout needs is accepted: a 2-D little-endian float32 or float64 array in C order.
 */
import { NonRetryableError } from '../errors.js';

/** A .npy holdout whose header this reader cannot take: retrying reads the same bytes. */
export class NpyFormatError extends NonRetryableError {
  constructor(message: string) {
    super('HoldoutFormatError', message);
  }
}

export interface NpyHeader {
  /** Bytes before the first element. */
  dataOffset: number;
  dtype: 'float32' | 'float64';
  rows: number;
  columns: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Where the header dict is known to end, `undefined` while more bytes are needed. */
export function npyHeaderLength(bytes: Uint8Array): number | undefined {
  if (bytes.length >= MAGIC.length) checkMagic(bytes);
  if (bytes.length < 12) return undefined;
  const version = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return version === 1 ? 10 + view.getUint16(8, true) : 12 + view.getUint32(8, true);
}

/** Parses the header from the file's first bytes (at least `npyHeaderLength` of them). */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  checkMagic(bytes);
  const version = bytes[6]!;
  if (version < 1 || version > 3) throw new NpyFormatError(`.npy format version ${version} is not supported (1 to 3 are)`);
  const dataOffset = npyHeaderLength(bytes);
  if (dataOffset === undefined || bytes.length < dataOffset) throw new NpyFormatError('the .npy header is truncated');
  const dict = new TextDecoder(version === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(version === 1 ? 10 : 12, dataOffset));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(dict)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(dict)?.[1];
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(dict)?.[1];
  if (descr === undefined || fortran === undefined || shape === undefined) throw new NpyFormatError(`the .npy header is not a NumPy header dict: ${dict.trim().slice(0, 120)}`);
  const dtype = descr === '<f4' ? 'float32' : descr === '<f8' ? 'float64' : undefined;
  if (!dtype) throw new NpyFormatError(`the .npy array holds '${descr}'; a holdout must be little-endian float32 ('<f4') or float64 ('<f8'), e.g. numpy.save(path, x.astype('float32'))`);
  if (fortran === 'True') throw new NpyFormatError('the .npy array is in Fortran order; save it in C order (numpy.ascontiguousarray) so rows can stream');
  const dims = shape.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (dims.length !== 2 || dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new NpyFormatError(`the .npy array has shape (${shape.trim()}); a holdout is 2-D: rows × (features, then the label)`);
  return { dataOffset, dtype, rows: dims[0]!, columns: dims[1]! };
}

function checkMagic(bytes: Uint8Array): void {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) throw new NpyFormatError('not a NumPy .npy file (the magic bytes \\x93NUMPY are missing)');
}

/** A .npy header for a C-order array of `rows` × `columns`: for tests and the benchmark's data. */
export function npyHeader(dtype: 'float32' | 'float64', rows: number, columns: number): Buffer {
  const dict = `{'descr': '${dtype === 'float32' ? '<f4' : '<f8'}', 'fortran_order': False, 'shape': (${rows}, ${columns}), }`;
  // numpy pads the header with spaces to a multiple of 64 bytes, ending in a newline.
  const length = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = Buffer.alloc(length, 0x20);
  header.set(MAGIC);
  header[6] = 1;
  header[7] = 0;
  header.writeUInt16LE(length - 10, 8);
  header.write(dict, 10, 'latin1');
  header[length - 1] = 0x0a;
  return header;
}
