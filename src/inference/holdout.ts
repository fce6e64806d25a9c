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
import { classCode } from './class-codes.js';

export interface HoldoutSchema {
  /** `npy`: a 2-D float array, its columns the features in the spec's order, then the label. */
  format: 'csv' | 'jsonl' | 'npy';
  features: readonly string[];
  label: string;
  task?: 'binary' | 'multiclass' | 'regression';
  /** The holdout columns each of the model's inputs takes, where it has several (workload.holdout.inputs). */
  inputs?: Readonly<Record<string, readonly string[]>>;
  /** A row with a NaN or infinite feature or label: the migration fails on it (default), or it is left out on both sides. */
  nonFinite?: 'fail' | 'skip';
  /** The model's classes are strings: the label column is read as text and coded (class-codes.ts). */
  stringLabels?: boolean;
}

/** A holdout row with a NaN or infinite value, where the spec says to fail on them. */
export class HoldoutNonFinite extends NonRetryableError {
  constructor(message: string) {
    super('HoldoutNonFinite', message);
  }
}

/** What a holdout read left out: rows with NaN or infinite values, under `nonFinite: skip`. */
export interface SkippedRows {
  count: number;
  /** The first few, as 1-based data rows. */
  rows: number[];
}

/**
 * One rule for NaN and ±∞ in a holdout, whatever its format: a row that holds one (an empty CSV
 * cell, nan, inf, a JSON null or NaN, a float in a .npy) is a holdout problem, not a model's.
 */
class NonFiniteRows {
  readonly skipped: SkippedRows = { count: 0, rows: [] };
  constructor(private readonly schema: HoldoutSchema) {}

  /** Whether the row may be kept; throws under `fail`. `column` is the first non-finite one. */
  keep(row: number, column: string, value: number): boolean {
    if (this.schema.nonFinite !== 'skip') {
      throw new HoldoutNonFinite(
        `holdout row ${row}: column ${column} is ${Number.isNaN(value) ? 'NaN (or empty)' : value > 0 ? '+∞' : '−∞'}. A NaN or infinite value in the holdout is the holdout's problem, not the model's: fix the file, or set workload.holdout.nonFinite: skip to leave such rows out (both sides leave out the same rows, and the report counts them)`,
      );
    }
    this.skipped.count++;
    if (this.skipped.rows.length < 10) this.skipped.rows.push(row);
    return false;
  }

  /** The first non-finite value of the batch's row `r`, or undefined. */
  check(batch: { features: Float32Array; labels: Float64Array }, width: number, r: number, row: number): boolean {
    for (let c = 0; c < width; c++) {
      const v = batch.features[r * width + c]!;
      if (!Number.isFinite(v)) return this.keep(row, this.schema.features[c]!, v);
    }
    const label = batch.labels[r]!;
    return Number.isFinite(label) || this.keep(row, this.schema.label, label);
  }
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

  /**
   * Copies up to `count` rows of `values` (each `width` features then the label) from row `from`;
   * returns how many it took (kept or left out by `guard`). `firstRow` is row `from`'s number.
   */
  fill(values: Float32Array | Float64Array, from: number, count: number, guard: NonFiniteRows, firstRow: number, labelOf: (v: number) => number): number {
    const { features, labels, width } = this;
    const columns = width + 1;
    let taken = 0;
    for (; taken < count && this.rows < this.size; taken++) {
      const source = (from + taken) * columns;
      const target = this.rows * width;
      for (let c = 0; c < width; c++) features[target + c] = values[source + c]!;
      labels[this.rows] = values[source + width]!;
      if (guard.check(this, width, this.rows, firstRow + taken)) {
        labels[this.rows] = labelOf(labels[this.rows]!);
        this.rows++;
      }
    }
    return taken;
  }

  take(): HoldoutBatch {
    const batch = { rows: this.rows, features: this.features.subarray(0, this.rows * this.width), labels: this.labels.subarray(0, this.rows) };
    this.features = new Float32Array(this.size * this.width);
    this.labels = new Float64Array(this.size);
    this.rows = 0;
    return batch;
  }
}

/**
 * The holdout in batches. `skipped` (when given) is filled with the rows left out under
 * `nonFinite: skip`, complete once the generator is done.
 */
export async function* readHoldout(body: Readable, schema: HoldoutSchema, batchSize: number, skipped?: SkippedRows): AsyncGenerator<HoldoutBatch> {
  const guard = new NonFiniteRows(schema);
  try {
    if (schema.format === 'csv') yield* readCsv(body, schema, batchSize, guard);
    else if (schema.format === 'npy') yield* readNpy(body, schema, batchSize, guard);
    else yield* readJsonLines(body, schema, batchSize, guard);
  } finally {
    if (skipped) Object.assign(skipped, guard.skipped);
  }
}

/** A label as the comparison reads it: a number, or for string classes the code of its text. */
const numericLabel = (v: number) => v;
const codedLabel = (v: number) => (Number.isFinite(v) ? classCode(String(v)) : v);

/** Binary rows need no parsing: the bytes are copied into the batch, the label split off. */
async function* readNpy(body: Readable, schema: HoldoutSchema, batchSize: number, guard: NonFiniteRows): AsyncGenerator<HoldoutBatch> {
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
      r += batch.fill(values, r, count - r, guard, rows + r + 1, schema.stringLabels ? codedLabel : numericLabel);
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

async function* readJsonLines(body: Readable, schema: HoldoutSchema, batchSize: number, guard: NonFiniteRows): AsyncGenerator<HoldoutBatch> {
  const width = schema.features.length;
  const batch = new Batcher(width, batchSize);
  let line = 0;
  let row = 0;
  for await (const text of createInterface({ input: body, crlfDelay: Infinity })) {
    line++;
    if (!text.trim()) continue;
    row++;
    const record = parseJsonRecord(text, line);
    const base = batch.rows * width;
    for (let c = 0; c <= width; c++) {
      const name = c < width ? schema.features[c]! : schema.label;
      const value = jsonNumber(record, name, line, c === width && schema.stringLabels === true);
      if (c < width) batch.features[base + c] = value;
      else batch.labels[batch.rows] = value;
    }
    if (guard.check(batch, width, batch.rows, row)) batch.rows++;
    if (batch.full) yield batch.take();
  }
  if (batch.rows > 0) yield batch.take();
}

/** Python's json writes NaN, Infinity and -Infinity, which JSON.parse refuses: read as the numbers they are. */
const NON_FINITE_TOKEN = /(?<=[:,[]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g;
const NON_FINITE_MARK = '\u0000nonfinite:';

function parseJsonRecord(text: string, line: number): Record<string, unknown> {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    try {
      // The mark starts with a NUL, which JSON carries only escaped: no value in a real file looks like it.
      record = JSON.parse(text.replace(NON_FINITE_TOKEN, (token) => `"\\u0000nonfinite:${token}"`));
    } catch {
      throw new HoldoutFormatError(`holdout line ${line}: not a JSON object`);
    }
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new HoldoutFormatError(`holdout line ${line}: not a JSON object`);
  return record as Record<string, unknown>;
}

function jsonNumber(record: Record<string, unknown>, name: string, line: number, stringLabel: boolean): number {
  const value = record[name];
  if (typeof value === 'number') return stringLabel ? classCode(String(value)) : value;
  if (value === null) return Number.NaN;
  if (typeof value === 'string' && value.startsWith(NON_FINITE_MARK)) return Number(value.slice(NON_FINITE_MARK.length));
  if (typeof value === 'string' && stringLabel) return classCode(value);
  if (value === undefined) throw new HoldoutFormatError(`holdout line ${line}: column ${name} is missing`);
  throw new HoldoutFormatError(`holdout line ${line}: column ${name} is not a number (${JSON.stringify(value).slice(0, 40)})`);
}

const NEWLINE = 10;
const COMMA = 44;

async function* readCsv(body: Readable, schema: HoldoutSchema, batchSize: number, guard: NonFiniteRows): AsyncGenerator<HoldoutBatch> {
  const width = schema.features.length;
  const batch = new Batcher(width, batchSize);
  /** For each CSV column: the feature slot it fills, `width` for the label, -1 when unused. */
  let slots: Int32Array | undefined;
  const filled = new Uint8Array(width + 1);
  let line = 0;
  let row = 0;

  const parseLine = (buf: Buffer, start: number, end: number) => {
    line++;
    if (end > start && buf[end - 1] === 13) end--; // CRLF
    if (!slots) {
      slots = headerSlots(buf.toString('utf8', start, end), schema);
      return;
    }
    if (isBlank(buf, start, end)) return;
    row++;
    filled.fill(0);
    const base = batch.rows * width;
    let column = 0;
    let cell = start;
    while (cell <= end) {
      const slot = column < slots.length ? slots[column]! : -1;
      if (slot >= 0) {
        let value: number;
        if (slot === width && schema.stringLabels) {
          cellEnd = cell;
          while (cellEnd < end && buf[cellEnd] !== COMMA) cellEnd++;
          value = classCode(unquote(buf.toString('utf8', cell, cellEnd)));
        } else {
          value = scanCell(buf, cell, end);
          // An empty cell or a nan/inf word is a NaN or ∞ (the non-finite rule's); other text is not a number at all.
          if (Number.isNaN(value) && !isNonFiniteWord(buf, cell, cellEnd)) throw notANumber(line, slot, schema);
        }
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
    if (guard.check(batch, width, batch.rows, row)) batch.rows++;
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

/** An empty cell, or one of the words tools write for NaN and ±∞ (nan, NaN, inf, -inf, Infinity…). */
function isNonFiniteWord(buf: Buffer, start: number, end: number): boolean {
  const text = buf.toString('latin1', start, end).trim();
  return text === '' || /^[+-]?(nan|inf|infinity)$/i.test(text);
}

/** A CSV cell's text without its quotes. */
const unquote = (text: string) => {
  const t = text.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replaceAll('""', '"') : t;
};

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
