/**
 * Canary analysis between steps: the target against the source over one interval, on error rate,
 * p50 and p99 latency and, where mirrored, prediction agreement. Pure.
 */
import type { MigrationSpec } from '../spec.js';
import type { CanaryWindow } from './window.js';

export interface CanaryAnalysis {
  passed: boolean;
  /** Why it failed, one line per failed check, naming the figures. */
  reasons: string[];
  window: CanaryWindow;
}

/** Latencies this small are timer noise on one machine; a ratio of them says nothing. */
const LATENCY_FLOOR_SECONDS = 0.005;

export function analyseCanary(window: CanaryWindow, thresholds: MigrationSpec['canary']['thresholds']): CanaryAnalysis {
  const { source, target } = window;
  const reasons: string[] = [];
  if (target.requests < thresholds.minRequests) {
    reasons.push(`only ${target.requests} request(s) reached the target in ${window.seconds.toFixed(0)} s; the analysis needs at least ${thresholds.minRequests} (send traffic through the gateway, or lengthen canary.intervalSeconds)`);
  }
  const errorDelta = target.errorRate - source.errorRate;
  if (target.requests > 0 && errorDelta > thresholds.maxErrorRateDelta) {
    reasons.push(`target error rate ${pct(target.errorRate)} against ${pct(source.errorRate)} at the source (more than ${pct(thresholds.maxErrorRateDelta)} above)`);
  }
  const latency = (name: 'p50' | 'p99', limit: number) => {
    const t = target[name];
    const s = source[name];
    if (t === undefined || s === undefined) return;
    const ratio = Math.max(t, LATENCY_FLOOR_SECONDS) / Math.max(s, LATENCY_FLOOR_SECONDS);
    if (ratio > limit) reasons.push(`target ${name} latency ${ms(t)} against ${ms(s)} at the source (×${ratio.toFixed(2)}, limit ×${limit})`);
  };
  latency('p50', thresholds.maxP50LatencyRatio);
  latency('p99', thresholds.maxP99LatencyRatio);
  const agreement = window.mirror.agreement;
  if (agreement !== undefined && agreement < thresholds.minAgreement) {
    reasons.push(`mirrored predictions agree on ${pct(agreement)} of ${window.mirror.rows} rows (at least ${pct(thresholds.minAgreement)} required)`);
  }
  return { passed: reasons.length === 0, reasons, window };
}

const pct = (v: number) => `${(v * 100).toFixed(2)} %`;
const ms = (seconds: number) => `${(seconds * 1000).toFixed(1)} ms`;
