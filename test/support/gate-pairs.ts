/** The generated model pairs (scripts/models/make_gate_pairs.py), as pairs.json describes them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ReportInput } from '../../src/compare/report.js';

export const GATE_PAIRS_DIR = join(import.meta.dirname, '../fixtures/gate-pairs');

export interface GatePair {
  name: string;
  task: ReportInput['task'];
  source: string;
  target: string;
  holdout: string;
  format: 'csv' | 'npy';
  /** The holdout's feature columns; absent means the binary set's. */
  features?: string[];
  tolerances?: Partial<ReportInput['shadow']['tolerances']>;
  /** holdoutNonFinite: the holdout holds a NaN or ∞, refused as the holdout's problem (workload.holdout.nonFinite). */
  verdict: 'passed' | 'failed' | 'refused' | 'holdoutNonFinite';
  failed: string[];
}

export function gatePairs(): { features: string[]; pairs: GatePair[] } {
  return JSON.parse(readFileSync(join(GATE_PAIRS_DIR, 'pairs.json'), 'utf8')) as { features: string[]; pairs: GatePair[] };
}
