/** What a worker runs with unless CLOUDSHIFT_LARGE_OBJECTS_AT_ONCE says otherwise. */
export const DEFAULT_LARGE_OBJECTS_AT_ONCE = 4;

/**
 * A worker-wide cap on large objects in transfer at once, shared by every copy batch the worker
 * runs. Measured on the local stack (16 × 64 MiB, S3 → GCS): 16 at once took 16.5–17.5 s, 4 at
 * once 11.8–12.1 s. Objects that stream side by side finish side by side, so every target
 * finalises them at the same moment (fake-gcs-server writes and fsyncs each one under a single
 * lock) while nothing streams; fewer at once keeps finalising and streaming overlapped. It also
 * bounds what a worker buffers for parallel parts: (part concurrency + 1) × part size an object.
 */
export class TransferSlots {
  private inUse = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`transfer slots must be a whole number of at least 1, got ${size}`);
  }

  /** Resolves to a release function once a slot is free; rejects if `signal` aborts first. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.inUse < this.size) {
      this.inUse++;
    } else {
      await new Promise<void>((resolve, reject) => {
        const granted = () => {
          signal?.removeEventListener('abort', aborted);
          resolve();
        };
        const aborted = () => {
          this.waiting.splice(this.waiting.indexOf(granted), 1);
          reject(signal!.reason as Error);
        };
        this.waiting.push(granted);
        signal?.addEventListener('abort', aborted, { once: true });
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // A freed slot passes straight to the next waiter, so the count stays as it is.
      const next = this.waiting.shift();
      if (next) next();
      else this.inUse--;
    };
  }

  async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await work();
    } finally {
      release();
    }
  }
}
