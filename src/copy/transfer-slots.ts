/** Where the adaptive cap starts (the best fixed value measured on the local stack) and its bounds. */
export const DEFAULT_LARGE_OBJECTS_AT_ONCE = 4;
export const LARGE_OBJECTS_AT_ONCE_BOUNDS = { min: 1, max: 16 } as const;

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

  constructor(private size: number) {
    TransferSlots.check(size);
  }

  private static check(size: number): void {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`transfer slots must be a whole number of at least 1, got ${size}`);
  }

  get limit(): number {
    return this.size;
  }

  /** A new cap: more slots start waiters at once; fewer take effect as transfers end. */
  setLimit(size: number): void {
    TransferSlots.check(size);
    this.size = size;
    while (this.inUse < this.size && this.waiting.length > 0) {
      this.inUse++;
      this.waiting.shift()!();
    }
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
      // A freed slot passes straight to the next waiter, so the count stays as it is, unless
      // the cap came down meanwhile.
      if (this.inUse > this.size) {
        this.inUse--;
        return;
      }
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

/**
 * Finds how many large transfers at once the target sustains best, by climbing: every window of
 * as many completed transfers as there are slots, it compares the window's bytes per second with
 * the previous window's; a gain of 3 % or more keeps the step's direction, a loss of 3 % or more
 * turns it, anything between steps down (fewer at once for the same rate is cheaper). So the same build settles near 4 on a target that finalises
 * each object under one lock (fake-gcs-server) and higher where the target scales, and follows a
 * machine that gets busier. Pure: time comes in with each completion.
 */
export class ThroughputClimber {
  private windowStart: number;
  private windowBytes = 0;
  private windowDone = 0;
  private lastRate: number | undefined;
  private direction: 1 | -1 = 1;
  /** Every limit it chose, in order (the first is where it started). */
  readonly history: number[];

  constructor(
    private current: number,
    private readonly bounds: { min: number; max: number },
    now: number,
  ) {
    this.windowStart = now;
    this.history = [current];
  }

  get limit(): number {
    return this.current;
  }

  /** Records a finished transfer; returns the new limit when it changes. */
  completed(bytes: number, now: number): number | undefined {
    this.windowBytes += bytes;
    this.windowDone++;
    if (this.windowDone < Math.max(2, this.current)) return undefined;
    const rate = this.windowBytes / Math.max(now - this.windowStart, 1e-3);
    this.windowStart = now;
    this.windowBytes = 0;
    this.windowDone = 0;
    const last = this.lastRate;
    this.lastRate = rate;
    if (last !== undefined && rate < last * 0.97) this.direction = this.direction === 1 ? -1 : 1;
    // No gain worth having: one fewer costs nothing and holds less (and a plateau is no place to stay).
    else if (last !== undefined && rate < last * 1.03) this.direction = -1;
    const next = Math.min(this.bounds.max, Math.max(this.bounds.min, this.current + this.direction));
    if (next === this.current) {
      // At a bound: look the other way next time.
      this.direction = this.direction === 1 ? -1 : 1;
      return undefined;
    }
    this.current = next;
    this.history.push(next);
    return next;
  }
}
