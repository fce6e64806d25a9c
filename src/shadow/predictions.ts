/**
 * The predictions file each side of the shadow run writes to its own cloud: CSV with a header,
 * one row per holdout row in holdout order, so two files pair by line. `label` is empty for
 * regressors; `truth` is the holdout's label column.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

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

/** Reads a predictions file of `rows` rows into columns (24 bytes a row at most). */
export async function readPredictions(body: Readable, rows: number, where: string): Promise<PredictionColumns> {
  const scores = new Float64Array(rows);
  const labels = new Int32Array(rows);
  const truth = new Float64Array(rows);
  let hasLabels = false;
  let n = 0;
  let line = 0;
  for await (const text of createInterface({ input: body, crlfDelay: Infinity })) {
    line++;
    if (line === 1) {
      if (text !== PREDICTIONS_HEADER) throw new Error(`${where}: expected the header "${PREDICTIONS_HEADER}", found "${text.slice(0, 80)}"`);
      continue;
    }
    if (!text) continue;
    const [row, score, label, actual] = text.split(',');
    if (Number(row) !== n || n >= rows) throw new Error(`${where} line ${line}: expected row ${n} of ${rows}, found "${row}"`);
    scores[n] = Number(score);
    if (label) {
      hasLabels = true;
      labels[n] = Number(label);
    }
    truth[n] = Number(actual);
    n++;
  }
  if (n !== rows) throw new Error(`${where}: ${n} rows, expected ${rows}`);
  return { scores, labels: hasLabels ? labels : undefined, truth };
}
