/** What one canary interval saw of each backend, for the analysis between steps. */
import type { Route } from './route.js';

export interface BackendWindow {
  requests: number;
  errors: number;
  errorRate: number;
  /** Seconds; absent without requests. */
  p50?: number;
  p99?: number;
}

export interface CanaryWindow {
  since: string;
  seconds: number;
  route?: Route;
  source: BackendWindow;
  /** Served and mirrored requests together: both tell how healthy the target is. */
  target: BackendWindow;
  mirror: { rows: number; agreeing: number; agreement?: number };
}

/** Latencies of one backend in one window: exact quantiles over the first 100,000 requests. */
export class LatencyWindow {
  private static readonly CAPACITY = 100_000;
  private readonly latencies = new Float64Array(LatencyWindow.CAPACITY);
  private requests = 0;
  private errors = 0;

  record(seconds: number, ok: boolean): void {
    if (this.requests < LatencyWindow.CAPACITY) this.latencies[this.requests] = seconds;
    this.requests++;
    if (!ok) this.errors++;
  }

  summary(): BackendWindow {
    const kept = this.latencies.slice(0, Math.min(this.requests, LatencyWindow.CAPACITY)).sort();
    const at = (q: number) => kept[Math.min(kept.length - 1, Math.floor(q * kept.length))]!;
    return {
      requests: this.requests,
      errors: this.errors,
      errorRate: this.requests ? this.errors / this.requests : 0,
      ...(kept.length ? { p50: at(0.5), p99: at(0.99) } : {}),
    };
  }
}
