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
import { predictionRecords } from '../shadow/predictions.js';
import type { ExecutionProvider } from '../spec.js';
import { type HoldoutSchema, readHoldout } from './holdout.js';
import { type LoadedSession, loadSession, predict } from './session.js';

export interface InitMessage {
  type: 'init';
  model: Uint8Array;
  executionProvider: ExecutionProvider;
  intraOpThreads?: number;
  holdout: HoldoutSchema;
  batchSize: number;
  /** Also run every batch on a second session (one thread, CPU) to measure the noise floor. */
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
  | { type: 'ready'; provider: 'cpu' | 'cuda'; fallbackReason?: string; log: string[] }
  | { type: 'ack' }
  | { type: 'output'; records: Uint8Array; rows: number }
  | { type: 'done'; rows: number; noise?: NoiseSums }
  | { type: 'error'; name: string; message: string };

/** The floor of relative differences, the same as pairedDifferences' (see compare/statistics.ts). */
const RELATIVE_FLOOR = 1e-3;

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
  const primary: LoadedSession = await loadSession(init.model, { executionProvider: init.executionProvider, intraOpThreads: init.intraOpThreads, log: (line) => log.push(line) });
  // A different thread count reorders the float reductions, a different provider changes the
  // kernels: either gives the jitter that is not migration.
  const noise = init.noise ? await loadSession(init.model, { executionProvider: 'cpu', intraOpThreads: 1 }) : undefined;
  send({ type: 'ready', provider: primary.provider, fallbackReason: primary.fallbackReason, log });
  const sums: NoiseSums = { rows: 0, maxAbsolute: 0, sumAbsolute: 0, maxRelative: 0, sumRelative: 0 };
  let rows = 0;
  for await (const batch of readHoldout(Readable.from(incoming()), init.holdout, init.batchSize)) {
    const out = await predict(primary.session, batch.features, batch.rows);
    const noiseScores = noise ? (await predict(noise.session, batch.features, batch.rows)).scores : undefined;
    if (noiseScores) accumulate(sums, out.scores, noiseScores);
    const records = predictionRecords(out.scores, out.labels, batch.labels);
    send({ type: 'output', records, rows: batch.rows }, [records.buffer as ArrayBuffer]);
    rows += batch.rows;
  }
  send({ type: 'done', rows, ...(noise ? { noise: sums } : {}) });
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
