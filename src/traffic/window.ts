/** What one canary interval saw of each side, as the analysis measured it. */
import type { Agreement } from './agreement.js';

export interface BackendWindow {
  requests: number;
  errors: number;
  errorRate: number;
  /** Seconds; absent without requests. */
  p50?: number;
  p99?: number;
  /** The data plane's mean response time of the side's last responses, seconds (HAProxy). */
  mean?: number;
  /** Of `requests`, the copies the data plane mirrored from the source (target only); the rest were served. */
  mirrored?: number;
}

export interface CanaryWindow {
  /** Start and end of the window the queries covered (ISO). */
  since: string;
  until: string;
  seconds: number;
  source: BackendWindow;
  /** Served and mirrored requests together: both tell how healthy the target is. */
  target: BackendWindow;
  mirror: Agreement;
}
