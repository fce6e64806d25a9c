/**
 * One side of the shadow run through its real endpoint: the holdout as stored in that cloud sent
 * to the server in V2 batches (a bounded number in flight, each retried on its own), the answers
 * written as the same predictions file the in-worker run writes, so the comparison, the report and
 * the verdict rules are the same. What the operator's users will see, not what the model file does.
 */
import { PassThrough } from 'node:stream';
import type { ObjectStore } from '../clouds/object-store.js';
import { EndpointUnavailable, OipClient } from '../endpoints/oip-client.js';
import { type ServedModel, servedInputs } from '../endpoints/oip.js';
import { readHoldout } from '../inference/holdout.js';
import { predictionRecords, predictionsHeader } from '../inference/predictions.js';
import type { Predictions } from '../inference/session.js';
import type { ShadowSideResult, Workload } from './run.js';

export interface EndpointSideOptions {
  /** Where the holdout is read. */
  store: ObjectStore;
  holdoutKey: string;
  holdout: Workload['holdout'];
  served: ServedModel;
  predictionsStore: ObjectStore;
  predictionsKey: string;
  /** Rows a request carries. */
  batchSize: number;
  /** Requests in flight at once. @default 4 */
  concurrency?: number;
  /** The model file's SHA-256 the side's server was checked against (the copy manifest's). */
  modelSha256: string;
  onProgress?: (rows: number) => void;
}

const TRIES = 4;

/** One batch through the server, retried where the server did not answer or answered 5xx. */
async function predictBatch(client: OipClient, served: ServedModel, rows: number[][]): Promise<Predictions> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.predict(servedInputs(served), rows, served.outputs, served.classes);
    } catch (error) {
      if (!(error instanceof EndpointUnavailable) || attempt >= TRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
    }
  }
}

export async function runShadowThroughEndpoint(options: EndpointSideOptions): Promise<ShadowSideResult> {
  const started = performance.now();
  const client = new OipClient({ url: options.served.url, model: options.served.model, ...(options.served.version ? { version: options.served.version } : {}) });
  const width = options.holdout.features.length;
  const columns = options.holdout.task === 'regression' ? 0 : (options.served.classes?.length ?? 0);
  const out = new PassThrough();
  const upload = options.predictionsStore.write(options.predictionsKey, out, { contentType: 'application/octet-stream' });
  upload.catch(() => out.destroy());
  out.write(predictionsHeader(columns, options.holdout.task !== 'regression'));
  let rows = 0;
  // Answers are written in holdout order, so the two sides' files pair by position.
  const inFlight: Promise<Uint8Array>[] = [];
  const writeOldest = async () => {
    const records = await inFlight.shift()!;
    if (!out.write(records)) await new Promise((resolve) => out.once('drain', resolve));
  };
  try {
    // String classes: the label column read as text and coded, as the servers' words are.
    const holdout = { ...options.holdout, ...(options.served.classNames ? { stringLabels: true } : {}) };
    for await (const batch of readHoldout(await options.store.read(options.holdoutKey), holdout, options.batchSize)) {
      const features = Array.from({ length: batch.rows }, (_, r) => Array.from(batch.features.subarray(r * width, (r + 1) * width)));
      const truth = batch.labels;
      inFlight.push(
        predictBatch(client, options.served, features).then((p) => {
          if (columns > 0 && p.columns !== columns) throw new Error(`${client.where}: answered ${p.columns} probability columns, the model has ${columns}`);
          return predictionRecords(p.scores, p.labels, truth, p.probabilities, columns);
        }),
      );
      rows += batch.rows;
      if (inFlight.length >= (options.concurrency ?? 4)) await writeOldest();
      options.onProgress?.(rows);
    }
    while (inFlight.length) await writeOldest();
    out.end();
    await upload;
  } catch (error) {
    out.destroy();
    await Promise.allSettled([upload, ...inFlight]);
    throw error;
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    rows,
    predictionsKey: options.predictionsKey,
    modelSha256: options.modelSha256,
    provider: 'cpu',
    runtime: { onnxruntime: `served by ${options.served.url} (model ${options.served.model})`, executionProvider: 'cpu' },
    ...(options.served.classes ? { classes: options.served.classes } : {}),
    ...(options.served.classNames ? { classNames: options.served.classNames } : {}),
    seconds,
    rowsPerSecond: rows / seconds,
  };
}
