import { Transform } from 'node:stream';

/**
 * Shared byte budget for every stream of one activity: a token bucket that delays chunks so the
 * average stays under `bytesPerSecond` (bursts up to one second's worth).
 */
export class Bandwidth {
  private available: number;
  private last = performance.now();

  constructor(private readonly bytesPerSecond: number) {
    this.available = bytesPerSecond;
  }

  private async take(bytes: number): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.available = Math.min(this.bytesPerSecond, this.available + ((now - this.last) / 1000) * this.bytesPerSecond);
      this.last = now;
      if (this.available >= Math.min(bytes, this.bytesPerSecond)) {
        this.available -= bytes;
        return;
      }
      const waitMs = ((Math.min(bytes, this.bytesPerSecond) - this.available) / this.bytesPerSecond) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(1, waitMs)));
    }
  }

  stream(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.take(chunk.length).then(() => done(null, chunk), done);
      },
    });
  }
}
