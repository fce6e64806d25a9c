/**
 * The predictions file each side of the shadow run writes to its own cloud: CSV with a header,
 * one row per holdout row in holdout order, so two files pair by line. `label` is empty for
 * regressors; `truth` is the holdout's label column.
 */
import type { Readable } from 'node:stream';
import { parseDecimal } from '../inference/holdout.js';

export const PREDICTIONS_HEADER = 'row,score,label,truth';

export function predictionLines(firstRow: number, scores: Float64Array, labels: Int32Array | undefined, truth: Float64Array): string {
  let text = '';
  for (let i = 0; i < scores.length; i++) {
    // Shortest round-trip form: the file carries the exact float64 ONNX Runtime returned.
    text += `${firstRow + i},${scores[i]},${labels ? labels[i] : ''},${truth[i]}\n`;
  }
  return text;
}

export interface PredictionColumns {
  scores: Float64Array;
  /** Absent for regressors. */
  labels?: Int32Array;
  truth: Float64Array;
}

/** Reads a predictions file of `rows` rows into columns (20 bytes a row), parsing the bytes. */
export async function readPredictions(body: Readable, rows: number, where: string): Promise<PredictionColumns> {
  const scores = new Float64Array(rows);
  const labels = new Int32Array(rows);
  const truth = new Float64Array(rows);
  let hasLabels = false;
  let n = 0;
  let line = 0;
  const cells = [0, 0, 0, 0, 0];
  const parseLine = (buf: Buffer, start: number, end: number) => {
    line++;
    if (line === 1) {
      const header = buf.toString('utf8', start, end).trimEnd();
      if (header !== PREDICTIONS_HEADER) throw new Error(`${where}: expected the header "${PREDICTIONS_HEADER}", found "${header.slice(0, 80)}"`);
      return;
    }
    if (end === start) return;
    // The offsets of the four cells: row, score, label, truth.
    let count = 1;
    cells[0] = start;
    for (let i = start; i < end && count < 4; i++) if (buf[i] === 44) cells[count++] = i + 1;
    cells[count] = end + 1;
    const row = count === 4 ? parseDecimal(buf, cells[0]!, cells[1]! - 1) : Number.NaN;
    if (row !== n || n >= rows) throw new Error(`${where} line ${line}: expected row ${n} of ${rows}, found "${buf.toString('utf8', start, Math.min(end, start + 40))}"`);
    scores[n] = parseDecimal(buf, cells[1]!, cells[2]! - 1);
    if (cells[3]! - 1 > cells[2]!) {
      hasLabels = true;
      labels[n] = parseDecimal(buf, cells[2]!, cells[3]! - 1);
    }
    truth[n] = parseDecimal(buf, cells[3]!, end);
    n++;
  };
  let carry: Buffer | undefined;
  for await (const chunk of body) {
    const buf = carry?.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      parseLine(buf, start, nl);
      start = nl + 1;
    }
    carry = buf.subarray(start);
  }
  if (carry?.length) parseLine(carry, 0, carry.length);
  if (n !== rows) throw new Error(`${where}: ${n} rows, expected ${rows}`);
  return { scores, labels: hasLabels ? labels : undefined, truth };
}
