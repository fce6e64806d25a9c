/**
 * The predictions file each side of the shadow run writes to its own cloud, one record per holdout
 * row in holdout order, so two files pair by position. Binary, because formatting and parsing
 * decimal text cost more than a small model's inference:
 *   16 bytes  the magic `cloudshift.pred1`
 *   20 bytes a row, little-endian: float64 score, float64 truth (the holdout's label column),
 *            int32 predicted class (−1 for regressors)
 * numpy reads it as `np.fromfile(path, dtype=[('score','<f8'),('truth','<f8'),('label','<i4')], offset=16)`.
 */
import type { Readable } from 'node:stream';
import { RecordReader } from '../inference/records.js';

const PREDICTIONS_MAGIC = 'cloudshift.pred1';
const HEADER_BYTES = 16;
const RECORD_BYTES = 20;
const NO_LABEL = -1;

export const predictionsHeader = (): Buffer => Buffer.from(PREDICTIONS_MAGIC, 'latin1');

/** One batch's records. */
export function predictionRecords(scores: Float64Array, labels: Int32Array | undefined, truth: Float64Array): Uint8Array {
  const bytes = new Uint8Array(scores.length * RECORD_BYTES);
  const view = new DataView(bytes.buffer);
  for (let i = 0, at = 0; i < scores.length; i++, at += RECORD_BYTES) {
    view.setFloat64(at, scores[i]!, true);
    view.setFloat64(at + 8, truth[i]!, true);
    view.setInt32(at + 16, labels ? labels[i]! : NO_LABEL, true);
  }
  return bytes;
}

export interface PredictionColumns {
  scores: Float64Array;
  /** Absent for regressors. */
  labels?: Int32Array;
  truth: Float64Array;
}

/** Reads a predictions file of `rows` rows into columns (20 bytes a row). */
export async function readPredictions(body: Readable, rows: number, where: string): Promise<PredictionColumns> {
  const scores = new Float64Array(rows);
  const labels = new Int32Array(rows);
  const truth = new Float64Array(rows);
  let n = 0;
  let labelled = 0;
  const reader = new RecordReader((bytes) => {
    if (bytes.length < HEADER_BYTES) return undefined;
    const magic = bytes.toString('latin1', 0, HEADER_BYTES);
    if (magic !== PREDICTIONS_MAGIC) throw new Error(`${where}: not a cloudshift predictions file (it starts with ${JSON.stringify(magic)}, expected "${PREDICTIONS_MAGIC}")`);
    return { header: true, headerBytes: HEADER_BYTES, recordBytes: RECORD_BYTES };
  });
  for await (const { records, count } of reader.runs(body)) {
    if (n + count > rows) throw new Error(`${where}: more than the ${rows} rows the side reported`);
    const view = new DataView(records.buffer, records.byteOffset, records.length);
    for (let at = 0; at < records.length; at += RECORD_BYTES, n++) {
      scores[n] = view.getFloat64(at, true);
      truth[n] = view.getFloat64(at + 8, true);
      const label = view.getInt32(at + 16, true);
      labels[n] = label;
      if (label !== NO_LABEL) labelled++;
    }
  }
  const { leftover } = reader;
  if (!reader.header) throw new Error(`${where}: not a cloudshift predictions file (${leftover} bytes, shorter than its header)`);
  if (n !== rows || leftover) throw new Error(`${where}: ${n} rows${leftover ? ` and ${leftover} bytes of a row` : ''}, expected ${rows}`);
  if (labelled !== 0 && labelled !== rows) throw new Error(`${where}: ${labelled} of ${rows} rows carry a predicted class; a file is all classifier or all regressor`);
  return { scores, labels: labelled ? labels : undefined, truth };
}
