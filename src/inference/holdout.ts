/**
 * Holdout readers: rows stream in and leave as batches of float32 features plus labels, so a
 * holdout of any length never sits whole in memory.
 */
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';

export interface HoldoutSchema {
  format: 'csv' | 'jsonl';
  features: readonly string[];
  label: string;
}

export interface HoldoutBatch {
  rows: number;
  features: Float32Array;
  labels: Float64Array;
}

/** A holdout that does not fit its spec: retrying cannot fix it. */
export class HoldoutFormatError extends Error {
  override readonly name = 'HoldoutFormatError';
}

export async function* readHoldout(body: Readable, schema: HoldoutSchema, batchSize: number): AsyncGenerator<HoldoutBatch> {
  const width = schema.features.length;
  let features = new Float32Array(batchSize * width);
  let labels = new Float64Array(batchSize);
  let rows = 0;
  let line = 0;
  let columns: number[] | undefined;
  let labelColumn = -1;
  for await (const text of createInterface({ input: body, crlfDelay: Infinity })) {
    line++;
    if (!text.trim()) continue;
    let values: (number | undefined)[];
    if (schema.format === 'csv') {
      const cells = text.split(',');
      if (!columns) {
        const header = cells.map((c) => c.trim());
        columns = schema.features.map((f) => header.indexOf(f));
        labelColumn = header.indexOf(schema.label);
        const missing = [...schema.features, schema.label].filter((name, i) => (i < width ? columns![i] : labelColumn) === -1);
        if (missing.length) throw new HoldoutFormatError(`holdout CSV header lacks column(s) ${missing.join(', ')} (line 1)`);
        continue;
      }
      values = [...columns.map((c) => Number(cells[c])), Number(cells[labelColumn])];
    } else {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new HoldoutFormatError(`holdout line ${line}: not a JSON object`);
      }
      values = [...schema.features.map((f) => record[f] as number | undefined), record[schema.label] as number | undefined];
    }
    const bad = values.findIndex((v) => typeof v !== 'number' || Number.isNaN(v));
    if (bad >= 0) throw new HoldoutFormatError(`holdout line ${line}: column ${bad < width ? schema.features[bad] : schema.label} is not a number`);
    for (let c = 0; c < width; c++) features[rows * width + c] = values[c]!;
    labels[rows] = values[width]!;
    if (++rows === batchSize) {
      yield { rows, features, labels };
      features = new Float32Array(batchSize * width);
      labels = new Float64Array(batchSize);
      rows = 0;
    }
  }
  if (rows > 0) yield { rows, features: features.subarray(0, rows * width), labels: labels.subarray(0, rows) };
}
