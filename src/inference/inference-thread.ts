/**
 * The activity's handle on one inference thread (see thread.ts): start it with a model and the
 * holdout's schema, feed it the holdout's bytes, take its prediction records in row order. Errors in
 * the thread come back as rejections with the thread's message.
 */
import type { Worker } from 'node:worker_threads';
import type { ExecutionProvider } from '../spec.js';
import type { HoldoutSchema, SkippedRows } from './holdout.js';
import { spawnModuleThread } from '../threads.js';
import { errorFromThread } from '../errors.js';
import { ExecutionProviderUnavailable } from './session.js';
import type { NoiseSums, ThreadReply, ThreadRequest } from './thread.js';

export interface InferenceThreadOptions {
  executionProvider: ExecutionProvider;
  holdout: HoldoutSchema;
  batchSize: number;
  intraOpThreads?: number;
  noise?: boolean;
  log?: (line: string) => void;
}

/** Chunks handed over but not yet taken by the thread: bounds memory whatever the holdout's size. */
const MAX_CHUNKS_IN_FLIGHT = 8;
/**
 * Stream chunks (64 KiB from most stores) are gathered up to this size before they cross to the
 * thread: a message and its acknowledgement per 64 KiB left both threads waiting on each other.
 */
const CHUNK_BYTES = 1 << 20;

const spawnThread = (): Worker => spawnModuleThread(import.meta.url, 'thread');

export class InferenceThread {
  private inFlight = 0;
  private gathering?: Uint8Array;
  private gathered = 0;
  private waiters: (() => void)[] = [];
  private failure?: Error;
  private closed = false;
  private readonly finished: Promise<{ rows: number; noise?: NoiseSums; skipped?: SkippedRows }>;

  private constructor(
    private readonly worker: Worker,
    readonly provider: 'cpu' | 'cuda',
    readonly fallbackReason: string | undefined,
    /** The model's class labels in column order, where the model names them (string classes by their codes). */
    readonly classes: number[] | undefined,
    readonly classNames: string[] | undefined,
    onOutput: (records: Uint8Array, rows: number) => void,
  ) {
    this.finished = new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        this.failure ??= error;
        reject(error);
        this.release();
      };
      worker.on('message', (reply: ThreadReply) => {
        if (reply.type === 'ack') {
          this.inFlight--;
          this.release();
        } else if (reply.type === 'output') onOutput(reply.records, reply.rows);
        else if (reply.type === 'done') resolve(reply);
        else if (reply.type === 'error') fail(threadError(reply));
      });
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!this.closed) fail(new Error(`the inference thread exited (code ${code})`));
      });
    });
    this.finished.catch(() => undefined);
  }

  /** Loads the model in a new thread; `onOutput` receives each batch's prediction records, in order. */
  static async start(model: Uint8Array, options: InferenceThreadOptions, onOutput: (records: Uint8Array, rows: number) => void): Promise<InferenceThread> {
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
        holdout: options.holdout,
        batchSize: options.batchSize,
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
    return new InferenceThread(worker, ready.provider, ready.fallbackReason, ready.classes, ready.classNames, onOutput);
  }

  /** Hands over holdout bytes; waits while the thread is behind. */
  async push(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    for (let at = 0; at < chunk.length; ) {
      // A copy the thread owns: the chunk may share its memory with the stream's pool.
      this.gathering ??= new Uint8Array(CHUNK_BYTES);
      const taken = Math.min(chunk.length - at, CHUNK_BYTES - this.gathered);
      this.gathering.set(chunk.subarray(at, at + taken), this.gathered);
      this.gathered += taken;
      at += taken;
      if (this.gathered === CHUNK_BYTES) await this.send();
    }
  }

  /** Ends the holdout; resolves when every row is predicted and handed to `onOutput`. */
  async end(): Promise<{ rows: number; noise?: NoiseSums; skipped?: SkippedRows }> {
    if (this.gathered > 0) await this.send();
    if (this.failure) throw this.failure;
    this.worker.postMessage({ type: 'end' } satisfies ThreadRequest);
    return this.finished;
  }

  private async send(): Promise<void> {
    while (this.inFlight >= MAX_CHUNKS_IN_FLIGHT && !this.failure) await new Promise<void>((resolve) => this.waiters.push(resolve));
    if (this.failure) throw this.failure;
    this.inFlight++;
    const data = this.gathering!.subarray(0, this.gathered);
    this.gathering = undefined;
    this.gathered = 0;
    this.worker.postMessage({ type: 'chunk', data } satisfies ThreadRequest, [data.buffer as ArrayBuffer]);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.release();
    await this.worker.terminate();
  }

  private release(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const resolve of waiting) resolve();
  }
}

/** The thread's error as the activity raises it: the provider's own class (callers test for it), else by its type. */
function threadError(reply: Extract<ThreadReply, { type: 'error' }>): Error {
  if (reply.name === 'ExecutionProviderUnavailable') return new ExecutionProviderUnavailable(reply.message);
  // Errors that are not ours (onnxruntime-node's own, a TypeError) arrive as plain names: an
  // interface the holdout cannot feed is caught before the first batch, and a model ONNX Runtime
  // refused is a ModelRunFailed, so what is left stays retryable, with its own words.
  return errorFromThread(reply.name, reply.message);
}
