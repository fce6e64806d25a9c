/**
 * Holdout readers: rows stream in and leave as batches of float32 features plus labels, so a
 * holdout of any length never sits whole in memory. CSV is parsed from the bytes (no per-line
 * strings; see parseDecimal), since parsing, not inference, bounds a shadow run's speed on text;
 * a .npy holdout needs no parsing at all, ten times faster again.
 */
import { NonRetryableError } from '../errors.js';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { type NpyHeader, npyHeaderLength, parseNpyHeader } from './npy.js';
import { RecordReader } from './records.js';

export interface HoldoutSchema {
  /** `npy`: a 2-D float array, its columns the features in the spec's order, then the label. */
  format: 'csv' | 'jsonl' | 'npy';
  features: readonly string[];
  label: string;
}

export interface HoldoutBatch {
  rows: number;
  features: Float32Array;
  labels: Float64Array;
}

/** A holdout that does not fit its spec: retrying cannot fix it. */
export class HoldoutFormatError extends NonRetryableError {
  constructor(message: string, context: NonRetryableError['context'] = {}) {
    super('HoldoutFormatError', message, context);
  }
}

/** Fills batches row by row; a row is `width` features then the label. */
class Batcher {
  features: Float32Array;
  labels: Float64Array;
  rows = 0;

  constructor(private readonly width: number, private readonly size: number) {
    this.features = new Float32Array(size * width);
    this.labels = new Float64Array(size);
  }

  get full(): boolean {
    return this.rows === this.size;
  }

  /** Copies up to `count` rows of `values` (each `width` features then the label) from row `from`; returns how many fit. */
  fill(values: Float32Array | Float64Array, from: number, count: number): number {
    const n = Math.min(count, this.size - this.rows);
    const { features, labels, width } = this;
    const columns = width + 1;
    for (let r = 0; r < n; r++) {
      const source = (from + r) * columns;
      const target = (this.rows + r) * width;
      for (let c = 0; c < width; c++) features[target + c] = values[source + c]!;
      labels[this.rows + r] = values[source + width]!;
    }
    this.rows += n;
    return n;
  }

  take(): HoldoutBatch {
    const batch = { rows: this.rows, features: this.features.subarray(0, this.rows * this.width), labels: this.labels.subarray(0, this.rows) };
    this.features = new Float32Array(this.size * this.width);
    this.labels = new Float64Array(this.size);
    this.rows = 0;
    return batch;
  }
}

export async function* readHoldout(body: Readable, schema: HoldoutSchema, batchSize: number): AsyncGenerator<HoldoutBatch> {
  if (schema.format === 'csv') yield* readCsv(body, schema, batchSize);
  else if (schema.format === 'npy') yield* readNpy(body, schema, batchSize);
  else yield* readJsonLines(body, schema, batchSize);
}

/** Binary rows need no parsing: the bytes are copied into the batch, the label split off. */
async function* readNpy(body: Readable, schema: HoldoutSchema, batchSize: number): AsyncGenerator<HoldoutBatch> {
  const batch = new Batcher(schema.features.length, batchSize);
  const reader = new RecordReader((bytes) => {
    const length = npyHoldoutHeaderLength(bytes);
    if (length === undefined || bytes.length < length) return undefined;
    const header = npyHoldoutHeader(bytes, schema);
    return { header, headerBytes: header.dataOffset, recordBytes: header.columns * (header.dtype === 'float32' ? 4 : 8) };
  });
  let rows = 0;
  for await (const { header, records, count } of reader.runs(body)) {
    if (rows + count > header.rows) throw new HoldoutFormatError(`the holdout .npy holds more bytes than its shape (${header.rows} rows) says`);
    // A copy: typed arrays need aligned memory, and a stream's chunks start anywhere.
    const bytes = new Uint8Array(records);
    const values = header.dtype === 'float32' ? new Float32Array(bytes.buffer) : new Float64Array(bytes.buffer);
    for (let r = 0; r < count; ) {
      r += batch.fill(values, r, count - r);
      if (batch.full) yield batch.take();
    }
    rows += count;
  }
  const { header, leftover } = reader;
  if (!header) throw new HoldoutFormatError('the holdout .npy ends before its header does');
  if (rows === header.rows && leftover > 0) throw new HoldoutFormatError(`the holdout .npy holds ${leftover} bytes after the ${header.rows} rows its shape says`);
  if (rows !== header.rows) throw new HoldoutFormatError(`the holdout .npy is truncated: its shape says ${header.rows} rows, it holds ${rows}${leftover ? ` and ${leftover} bytes of a row` : ''}`);
  if (batch.rows > 0) yield batch.take();
}

const npyHoldoutHeaderLength = (bytes: Buffer) => asHoldoutError(() => npyHeaderLength(bytes));

function npyHoldoutHeader(bytes: Buffer, schema: HoldoutSchema): NpyHeader {
  const header = asHoldoutError(() => parseNpyHeader(bytes));
  if (header.columns !== schema.features.length + 1) {
    throw new HoldoutFormatError(
      `the holdout .npy has ${header.columns} columns; workload.holdout.features names ${schema.features.length}, so expected ${schema.features.length + 1} (the features in that order, then ${schema.label})`,
    );
  }
  return header;
}

async function* readJsonLines(body: Readable, schema: HoldoutSchema, batchSize: number): AsyncGenerator<HoldoutBatch> {
  const width = schema.features.length;
  const batch = new Batcher(width, batchSize);
  let line = 0;
  for await (const text of createInterface({ input: body, crlfDelay: Infinity })) {
    line++;
    if (!text.trim()) continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new HoldoutFormatError(`holdout line ${line}: not a JSON object`);
    }
    const base = batch.rows * width;
    for (let c = 0; c <= width; c++) {
      const name = c < width ? schema.features[c]! : schema.label;
      const value = record[name];
      if (typeof value !== 'number' || Number.isNaN(value)) throw new HoldoutFormatError(`holdout line ${line}: column ${name} is not a number`);
      if (c < width) batch.features[base + c] = value;
      else batch.labels[batch.rows] = value;
    }
    batch.rows++;
    if (batch.full) yield batch.take();
  }
  if (batch.rows > 0) yield batch.take();
}

const NEWLINE = 10;
const COMMA = 44;

async function* readCsv(body: Readable, schema: HoldoutSchema, batchSize: number): AsyncGenerator<HoldoutBatch> {
  const width = schema.features.length;
  const batch = new Batcher(width, batchSize);
  /** For each CSV column: the feature slot it fills, `width` for the label, -1 when unused. */
  let slots: Int32Array | undefined;
  const filled = new Uint8Array(width + 1);
  let line = 0;

  const parseLine = (buf: Buffer, start: number, end: number) => {
    line++;
    if (end > start && buf[end - 1] === 13) end--; // CRLF
    if (!slots) {
      slots = headerSlots(buf.toString('utf8', start, end), schema);
      return;
    }
    if (isBlank(buf, start, end)) return;
    filled.fill(0);
    const base = batch.rows * width;
    let column = 0;
    let cell = start;
    while (cell <= end) {
      const slot = column < slots.length ? slots[column]! : -1;
      if (slot >= 0) {
        const value = scanCell(buf, cell, end);
        if (Number.isNaN(value)) throw notANumber(line, slot, schema);
        if (slot < width) batch.features[base + slot] = value;
        else batch.labels[batch.rows] = value;
        filled[slot] = 1;
      } else {
        // A byte loop, not indexOf: a native call per cell costs more than the scan.
        cellEnd = cell;
        while (cellEnd < end && buf[cellEnd] !== COMMA) cellEnd++;
      }
      column++;
      cell = cellEnd + 1;
    }
    const missing = filled.indexOf(0);
    if (missing >= 0) throw notANumber(line, missing, schema);
    batch.rows++;
  };

  let carry: Buffer | undefined;
  for await (const chunk of body) {
    const buf = carry?.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE, start); nl >= 0; nl = buf.indexOf(NEWLINE, start)) {
      parseLine(buf, start, nl);
      start = nl + 1;
      if (batch.full) yield batch.take();
    }
    carry = buf.subarray(start);
  }
  if (carry?.length) parseLine(carry, 0, carry.length);
  if (batch.rows > 0) yield batch.take();
}

function asHoldoutError<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new HoldoutFormatError(`holdout: ${(error as Error).message}`);
  }
}

function headerSlots(header: string, schema: HoldoutSchema): Int32Array {
  const names = header.split(',').map((c) => c.trim());
  const slots = new Int32Array(names.length).fill(-1);
  const wanted = [...schema.features, schema.label];
  const missing: string[] = [];
  wanted.forEach((name, slot) => {
    const column = names.indexOf(name);
    if (column < 0) missing.push(name);
    else slots[column] = slot;
  });
  if (missing.length) throw new HoldoutFormatError(`holdout CSV header lacks column(s) ${missing.join(', ')} (line 1)`);
  return slots;
}

const notANumber = (line: number, slot: number, schema: HoldoutSchema) =>
  new HoldoutFormatError(`holdout line ${line}: column ${slot < schema.features.length ? schema.features[slot] : schema.label} is not a number`);

function isBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 32 && buf[i] !== 9) return false;
  return true;
}

const POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** Where the cell scanCell last read ends (its comma, or the line's end). */
let cellEnd = 0;

/**
 * What readSignificand last read: the digits as an integer (leading zeros dropped, at most 15
 * counted — `digits` over 15 means it stopped early), the power of ten the point implies, and
 * where it stopped. Module state rather than a returned object: it runs once per CSV cell.
 */
const significand = { mantissa: 0, digits: 0, scale: 0, seenDigit: false, end: 0 };

/** Reads digits with at most one point from `i`, up to `end` or the first other byte. */
function readSignificand(buf: Buffer, i: number, end: number): void {
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let seenDigit = false;
  let seenDot = false;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c >= 48 && c <= 57) {
      seenDigit = true;
      if (mantissa === 0 && c === 48) {
        if (seenDot) scale--;
        continue;
      }
      if (++digits > 15) break;
      mantissa = mantissa * 10 + (c - 48);
      if (seenDot) scale--;
    } else if (c === 46 && !seenDot) seenDot = true;
    else break;
  }
  significand.mantissa = mantissa;
  significand.digits = digits;
  significand.scale = scale;
  significand.seenDigit = seenDigit;
  significand.end = i;
}

/**
 * The number in the CSV cell from `start`, in one pass over its bytes that also finds the cell's
 * end (left in `cellEnd`). Plain decimals (sign, at most 15 significant digits, a point) are read
 * here; anything else — exponents, blanks, longer mantissas — goes to parseDecimal, so the value
 * is always what parseDecimal, and so Number(), gives.
 */
function scanCell(buf: Buffer, start: number, end: number): number {
  const negative = buf[start] === 45;
  readSignificand(buf, negative || buf[start] === 43 ? start + 1 : start, end);
  const { mantissa, digits, scale, seenDigit, end: stop } = significand;
  cellEnd = stop;
  if ((stop === end || buf[stop] === COMMA) && seenDigit && digits <= 15 && scale >= -22) {
    const value = scale < 0 ? mantissa / POWERS_OF_TEN[-scale]! : mantissa;
    return negative ? -value : value;
  }
  while (cellEnd < end && buf[cellEnd] !== COMMA) cellEnd++;
  return parseDecimal(buf, start, cellEnd);
}

/**
 * A decimal number from bytes, exactly as Number() would read it. The fast path takes at most 15
 * significant digits and a power of ten up to 10^22: both are exact doubles, so one
 * multiplication or division is correctly rounded (Clinger's fast path). Anything else (more
 * digits, large exponents, inf, hex) goes to Number() on the text. Empty cells are NaN.
 */
export function parseDecimal(buf: Buffer, start: number, end: number): number {
  while (start < end && (buf[start] === 32 || buf[start] === 9)) start++;
  while (end > start && (buf[end - 1] === 32 || buf[end - 1] === 9)) end--;
  if (start === end) return Number.NaN;
  const negative = buf[start] === 45;
  readSignificand(buf, negative || buf[start] === 43 ? start + 1 : start, end);
  const { mantissa, digits, seenDigit } = significand;
  let { scale, end: i } = significand;
  if (!seenDigit || digits > 15) return slow(buf, start, end);
  if (i < end) {
    if (buf[i] !== 101 && buf[i] !== 69) return slow(buf, start, end);
    i++;
    let expNegative = false;
    if (buf[i] === 45 || buf[i] === 43) expNegative = buf[i++] === 45;
    let exponent = 0;
    const expStart = i;
    for (; i < end; i++) {
      const c = buf[i]!;
      if (c < 48 || c > 57 || exponent > 1000) return slow(buf, start, end);
      exponent = exponent * 10 + (c - 48);
    }
    if (i === expStart) return slow(buf, start, end);
    scale += expNegative ? -exponent : exponent;
  }
  if (scale < -22 || scale > 22) return slow(buf, start, end);
  const value = scale < 0 ? mantissa / POWERS_OF_TEN[-scale]! : mantissa * POWERS_OF_TEN[scale]!;
  return negative ? -value : value;
}

const slow = (buf: Buffer, start: number, end: number) => Number(buf.toString('latin1', start, end));
