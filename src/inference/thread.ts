/**
 * The inference thread: ONNX Runtime's run() computes on the calling thread, so it runs here,
 * away from the activity's event loop, where heartbeats and cancellation must keep flowing.
 * Messages: one `init` (the model bytes and options), then `batch`es, each answered in order.
 */
import { parentPort } from 'node:worker_threads';
import type { ExecutionProvider } from '../spec.js';
import { type LoadedSession, loadSession, predict } from './session.js';

export interface InitMessage {
  type: 'init';
  model: Uint8Array;
  executionProvider: ExecutionProvider;
  intraOpThreads?: number;
  /** Also run every batch on a second session (one thread, CPU) to measure the noise floor. */
  noise: boolean;
}
export interface BatchMessage {
  type: 'batch';
  id: number;
  rows: number;
  features: Float32Array;
}
export type ThreadRequest = InitMessage | BatchMessage;

export type ThreadReply =
  | { type: 'ready'; provider: 'cpu' | 'cuda'; fallbackReason?: string; log: string[] }
  | { type: 'result'; id: number; scores: Float64Array; labels?: Int32Array; noiseScores?: Float64Array }
  | { type: 'error'; id?: number; name: string; message: string };

const port = parentPort;
if (!port) throw new Error('src/inference/thread.ts runs as a worker thread; use InferenceThread');

let primary: LoadedSession | undefined;
let noise: LoadedSession | undefined;

port.on('message', (message: ThreadRequest) => {
  void handle(message).catch((error: unknown) => {
    const e = error instanceof Error ? error : new Error(String(error));
    port.postMessage({ type: 'error', id: message.type === 'batch' ? message.id : undefined, name: e.name, message: e.message } satisfies ThreadReply);
  });
});

async function handle(message: ThreadRequest): Promise<void> {
  if (message.type === 'init') {
    const log: string[] = [];
    primary = await loadSession(message.model, {
      executionProvider: message.executionProvider,
      intraOpThreads: message.intraOpThreads,
      log: (line) => log.push(line),
    });
    // A different thread count reorders the float reductions, a different provider changes the
    // kernels: either gives the jitter that is not migration.
    if (message.noise) noise = await loadSession(message.model, { executionProvider: 'cpu', intraOpThreads: 1 });
    port!.postMessage({ type: 'ready', provider: primary.provider, fallbackReason: primary.fallbackReason, log } satisfies ThreadReply);
    return;
  }
  if (!primary) throw new Error('batch before init');
  const out = await predict(primary.session, message.features, message.rows);
  const noiseScores = noise ? (await predict(noise.session, message.features, message.rows)).scores : undefined;
  const reply: ThreadReply = { type: 'result', id: message.id, scores: out.scores, labels: out.labels, noiseScores };
  const transfer = [out.scores.buffer, ...(out.labels ? [out.labels.buffer] : []), ...(noiseScores ? [noiseScores.buffer] : [])] as ArrayBuffer[];
  port!.postMessage(reply, transfer);
}
