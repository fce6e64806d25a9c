/**
 * The predictions file each side of the shadow run writes, one record per holdout row in holdout
 * order, so two files pair by position. Binary, because formatting and parsing decimal text cost
 * more than a small model's inference:
 *   16 bytes  the magic `cloudshift.pred2`
 *    4 bytes  uint32 LE: C, the probability columns a row carries (0 for regressors)
 *    4 bytes  uint32 LE flags: bit 0 set where the rows carry served labels (a classifier, with or
 *            without probabilities; files written before it say 0 and carry labels where C > 0)
 *   24 + 4·C bytes a row, little-endian: float64 score, float64 truth (the holdout's label
 *            column), float64 served label (the model's label output as the class it names; NaN
 *            for regressors), then C float32 probabilities in the model's column order
 * numpy reads it as `np.fromfile(path, dtype=[('score','<f8'),('truth','<f8'),('label','<f8'),('p','<f4',(C,))], offset=24)`.
 */
import { NonRetryableError } from '../errors.js';
import { RecordReader } from '../inference/records.js';

const PREDICTIONS_MAGIC = 'cloudshift.pred2';
const HEADER_BYTES = 24;
/** More columns than any classifier this tool would gate; bounds what a corrupt header can make us allocate. */
export const MAX_CLASSES = 10_000;

export const recordBytes = (columns: number): number => 24 + 4 * columns;

const LABELLED = 1;

export function predictionsHeader(columns: number, labelled = columns > 0): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(PREDICTIONS_MAGIC, 0, 'latin1');
  header.writeUInt32LE(columns, 16);
  header.writeUInt32LE(labelled ? LABELLED : 0, 20);
  return header;
}

/** One batch's records. `probabilities` is row-major, `columns` a row. */
export function predictionRecords(scores: Float64Array, labels: Float64Array | undefined, truth: Float64Array, probabilities?: Float32Array, columns = 0): Uint8Array {
  const size = recordBytes(columns);
  const bytes = new Uint8Array(scores.length * size);
  const view = new DataView(bytes.buffer);
  for (let i = 0, at = 0; i < scores.length; i++, at += size) {
    view.setFloat64(at, scores[i]!, true);
    view.setFloat64(at + 8, truth[i]!, true);
    view.setFloat64(at + 16, labels ? labels[i]! : Number.NaN, true);
    for (let c = 0; c < columns; c++) view.setFloat32(at + 24 + 4 * c, probabilities![i * columns + c]!, true);
  }
  return bytes;
}

export interface PredictionColumns {
  scores: Float64Array;
  /** The served labels; absent for regressors. */
  labels?: Float64Array;
  truth: Float64Array;
  /** Row-major, `columns` a row; absent for regressors. */
  probabilities?: Float32Array;
  columns: number;
}

/** A predictions file that is not what its side reported: retrying cannot fix it. */
export class PredictionsFormatError extends NonRetryableError {
  constructor(message: string, context: NonRetryableError['context'] = {}) {
    super('PredictionsFormatError', message, context);
  }
}

/** Reads a predictions file of `rows` rows into columns. */
export async function readPredictions(body: AsyncIterable<unknown>, rows: number, where: string): Promise<PredictionColumns> {
  const scores = new Float64Array(rows);
  const labels = new Float64Array(rows);
  const truth = new Float64Array(rows);
  let probabilities: Float32Array | undefined;
  let columns = 0;
  let labelled = false;
  let n = 0;
  const reader = new RecordReader((bytes) => {
    if (bytes.length < HEADER_BYTES) return undefined;
    const magic = bytes.toString('latin1', 0, 16);
    if (magic !== PREDICTIONS_MAGIC) throw new PredictionsFormatError(`${where}: not a cloudshift predictions file (it starts with ${JSON.stringify(magic)}, expected "${PREDICTIONS_MAGIC}")`);
    columns = bytes.readUInt32LE(16);
    labelled = columns > 0 || (bytes.readUInt32LE(20) & LABELLED) !== 0;
    if (columns > MAX_CLASSES) throw new PredictionsFormatError(`${where}: its header says ${columns} probability columns, more than the ${MAX_CLASSES} cloudshift reads`);
    if (columns) probabilities = new Float32Array(rows * columns);
    return { header: true, headerBytes: HEADER_BYTES, recordBytes: recordBytes(columns) };
  });
  for await (const { records, count } of reader.runs(body)) {
    if (n + count > rows) throw new PredictionsFormatError(`${where}: more than the ${rows} rows the side reported`);
    const view = new DataView(records.buffer, records.byteOffset, records.length);
    const size = recordBytes(columns);
    for (let at = 0; at < records.length; at += size, n++) {
      scores[n] = view.getFloat64(at, true);
      truth[n] = view.getFloat64(at + 8, true);
      labels[n] = view.getFloat64(at + 16, true);
      for (let c = 0; c < columns; c++) probabilities![n * columns + c] = view.getFloat32(at + 24 + 4 * c, true);
    }
  }
  const { leftover } = reader;
  if (!reader.header) throw new PredictionsFormatError(`${where}: not a cloudshift predictions file (${leftover} bytes, shorter than its header)`);
  if (n !== rows || leftover) throw new PredictionsFormatError(`${where}: ${n} rows${leftover ? ` and ${leftover} bytes of a row` : ''}, expected ${rows}`);
  if (columns) return { scores, labels, truth, probabilities, columns };
  return labelled ? { scores, labels, truth, columns: 0 } : { scores, truth, columns: 0 };
}
