/**
 * The inference thread: it parses the holdout, runs the model and encodes the predictions, so the
 * activity's own event loop only moves bytes and keeps heartbeats and cancellation flowing
 * (onnxruntime-node's run() computes on the calling thread). Each shadow side has its own thread,
 * so two sides use two cores.
 * Messages in: one `init`, then `chunk`s of the holdout's bytes, then `end`. Out: `ready`, an `ack`
 * per chunk taken (the sender's flow control), `output`s of prediction records in row order, `done`.
 */
import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { predictionRecords, predictionsHeader } from './predictions.js';
import type { ExecutionProvider } from '../spec.js';
import { type HoldoutSchema, readHoldout, type SkippedRows } from './holdout.js';
import { openModel, predict } from './session.js';

export interface InitMessage {
  type: 'init';
  model: Uint8Array;
  executionProvider: ExecutionProvider;
  intraOpThreads?: number;
  holdout: HoldoutSchema;
  batchSize: number;
  /** Also run the first rows (NOISE_SAMPLE_ROWS) on a second session (one thread, CPU) to measure the noise floor. */
  noise: boolean;
}
export type ThreadRequest = InitMessage | { type: 'chunk'; data: Uint8Array } | { type: 'end' };

/** Sums over rows of the differences between the two sessions, for the noise floor. */
export interface NoiseSums {
  rows: number;
  maxAbsolute: number;
  sumAbsolute: number;
  maxRelative: number;
  sumRelative: number;
}

export type ThreadReply =
  | { type: 'ready'; provider: 'cpu' | 'cuda'; fallbackReason?: string; log: string[]; classes?: number[]; classNames?: string[] }
  | { type: 'ack' }
  | { type: 'output'; records: Uint8Array; rows: number }
  | { type: 'done'; rows: number; noise?: NoiseSums; skipped?: SkippedRows }
  | { type: 'error'; name: string; message: string };

/** The floor of relative differences, the same as pairedDifferences' (see compare/statistics.ts). */
const RELATIVE_FLOOR = 1e-3;
/**
 * Rows the noise floor is measured on. The floor is a maximum over rows of a jitter that does not
 * depend on the row's place in the holdout, so a sample bounds it: with 4,096 rows, a jitter
 * that one row in a thousand shows is missed with probability (1 − 10⁻³)^4096 ≈ 1.7 %. Measuring
 * every row doubled the inference of the side that did it.
 */
export const NOISE_SAMPLE_ROWS = 4096;

const port = parentPort;
if (!port) throw new Error('src/inference/thread.ts runs as a worker thread; use InferenceThread');
const send = (reply: ThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

/** Chunks as they arrive, read by the holdout parser as a stream. */
const chunks: (Buffer | null)[] = [];
let wake: (() => void) | undefined;
async function* incoming(): AsyncGenerator<Buffer> {
  for (;;) {
    while (chunks.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    const chunk = chunks.shift()!;
    if (chunk === null) return;
    send({ type: 'ack' });
    yield chunk;
  }
}

port.on('message', (message: ThreadRequest) => {
  if (message.type === 'init') {
    run(message).catch((error: unknown) => {
      const e = error instanceof Error ? error : new Error(String(error));
      send({ type: 'error', name: e.name, message: e.message });
    });
    return;
  }
  chunks.push(message.type === 'chunk' ? Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength) : null);
  wake?.();
});

async function run(init: InitMessage): Promise<void> {
  const log: string[] = [];
  // The interface is read, and checked against the holdout, before the first byte of it is fed.
  const expected = { features: init.holdout.features, task: init.holdout.task, ...(init.holdout.inputs ? { inputs: init.holdout.inputs } : {}) };
  const primary = await openModel(init.model, { executionProvider: init.executionProvider, intraOpThreads: init.intraOpThreads, log: (line) => log.push(line) }, expected);
  // A different thread count reorders the float reductions, a different provider changes the
  // kernels: either gives the jitter that is not migration.
  const noise = init.noise ? await openModel(init.model, { executionProvider: 'cpu', intraOpThreads: 1 }, expected) : undefined;
  const { classes, classNames } = primary;
  send({ type: 'ready', provider: primary.provider, fallbackReason: primary.fallbackReason, log, ...(classes ? { classes } : {}), ...(classNames ? { classNames } : {}) });
  const sums: NoiseSums = { rows: 0, maxAbsolute: 0, sumAbsolute: 0, maxRelative: 0, sumRelative: 0 };
  let rows = 0;
  let header: Buffer | undefined;
  const labelled = primary.iface.label !== undefined || primary.iface.probabilities !== undefined;
  const withHeader = (records: Uint8Array, columns: number): Uint8Array => {
    if (header) return records;
    header = predictionsHeader(columns, labelled);
    // A buffer of its own: it is transferred, and Buffer.concat may hand out a slice of the shared pool.
    const first = new Uint8Array(header.length + records.length);
    first.set(header);
    first.set(records, header.length);
    return first;
  };
  const holdout = { ...init.holdout, ...(classNames ? { stringLabels: true } : {}) };
  const skipped: SkippedRows = { count: 0, rows: [] };
  for await (const batch of readHoldout(Readable.from(incoming()), holdout, init.batchSize, skipped)) {
    const out = await predict(primary.session, primary.iface, batch.features, batch.rows, classes, rows + 1);
    if (noise && sums.rows < NOISE_SAMPLE_ROWS) {
      const take = Math.min(batch.rows, NOISE_SAMPLE_ROWS - sums.rows);
      const sample = (await predict(noise.session, noise.iface, batch.features.subarray(0, take * (batch.features.length / batch.rows)), take, classes, rows + 1)).scores;
      accumulate(sums, out.scores.subarray(0, take), sample);
    }
    const records = withHeader(predictionRecords(out.scores, out.labels, batch.labels, out.probabilities, out.columns), out.columns);
    send({ type: 'output', records, rows: batch.rows }, [records.buffer as ArrayBuffer]);
    rows += batch.rows;
  }
  if (!header) {
    // No rows: the file still says what it is. A classifier's column count is unknown without a row; 0 reads back as no rows either way.
    const records = withHeader(new Uint8Array(0), 0);
    send({ type: 'output', records, rows: 0 }, [records.buffer as ArrayBuffer]);
  }
  send({ type: 'done', rows, ...(noise ? { noise: sums } : {}), ...(skipped.count ? { skipped } : {}) });
}

function accumulate(sums: NoiseSums, a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    const r = d / Math.max(Math.abs(a[i]!), Math.abs(b[i]!), RELATIVE_FLOOR);
    if (d > sums.maxAbsolute) sums.maxAbsolute = d;
    if (r > sums.maxRelative) sums.maxRelative = r;
    sums.sumAbsolute += d;
    sums.sumRelative += r;
  }
  sums.rows += a.length;
}
