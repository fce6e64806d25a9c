/**
 * The main thread's handle on one inference thread (see thread.ts): start it with a model, send
 * batches, await their predictions, close it. Errors in the thread come back as rejections with
 * the thread's message.
 */
import { Worker } from 'node:worker_threads';
import type { ExecutionProvider } from '../spec.js';
import { ExecutionProviderUnavailable } from './session.js';
import type { ThreadReply, ThreadRequest } from './thread.js';

export interface ThreadPredictions {
  scores: Float64Array;
  labels?: Int32Array;
  /** The same batch on the noise-floor session, when asked for. */
  noiseScores?: Float64Array;
}

export interface InferenceThreadOptions {
  executionProvider: ExecutionProvider;
  intraOpThreads?: number;
  noise?: boolean;
  log?: (line: string) => void;
}

const THREAD_URL = new URL(import.meta.url.endsWith('.ts') ? './thread.ts' : './thread.js', import.meta.url);

/**
 * Source files need tsx's loader inside the thread too (Node 20 does not pass a parent's loader
 * hooks to worker threads); the built code does not.
 */
function spawnThread(): Worker {
  if (!THREAD_URL.pathname.endsWith('.ts')) return new Worker(THREAD_URL);
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(THREAD_URL.href)}); });`;
  return new Worker(bootstrap, { eval: true });
}

export class InferenceThread {
  private readonly pending = new Map<number, { resolve: (p: ThreadPredictions) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure?: Error;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    readonly provider: 'cpu' | 'cuda',
    readonly fallbackReason: string | undefined,
  ) {
    worker.on('message', (reply: ThreadReply) => {
      if (reply.type === 'result') {
        this.pending.get(reply.id)?.resolve(reply);
        this.pending.delete(reply.id);
      } else if (reply.type === 'error') this.fail(threadError(reply));
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`the inference thread exited (code ${code})`));
    });
  }

  static async start(model: Uint8Array, options: InferenceThreadOptions): Promise<InferenceThread> {
    const worker = spawnThread();
    const listeners: { message?: (reply: ThreadReply) => void; error?: (e: Error) => void; exit?: (code: number) => void } = {};
    const ready = await new Promise<Extract<ThreadReply, { type: 'ready' }>>((resolve, reject) => {
      listeners.message = (reply) => {
        if (reply.type === 'ready') resolve(reply);
        else if (reply.type === 'error') reject(threadError(reply));
      };
      listeners.error = reject;
      listeners.exit = (code) => reject(new Error(`the inference thread exited (code ${code}) before loading the model`));
      worker.on('message', listeners.message).on('error', listeners.error).on('exit', listeners.exit);
      const init: ThreadRequest = {
        type: 'init',
        model,
        executionProvider: options.executionProvider,
        intraOpThreads: options.intraOpThreads,
        noise: options.noise ?? false,
      };
      worker.postMessage(init);
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    // Only our own listeners: the Worker keeps internal ones that deliver messages.
    worker.off('message', listeners.message!).off('error', listeners.error!).off('exit', listeners.exit!);
    for (const line of ready.log) options.log?.(line);
    return new InferenceThread(worker, ready.provider, ready.fallbackReason);
  }

  /** Predicts one batch; `features` is transferred to the thread and unusable afterwards. */
  predict(features: Float32Array, rows: number): Promise<ThreadPredictions> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const batch: ThreadRequest = { type: 'batch', id, rows, features };
      this.worker.postMessage(batch, [features.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}

function threadError(reply: Extract<ThreadReply, { type: 'error' }>): Error {
  if (reply.name === 'ExecutionProviderUnavailable') return new ExecutionProviderUnavailable(reply.message);
  const error = new Error(reply.message);
  error.name = reply.name;
  return error;
}
