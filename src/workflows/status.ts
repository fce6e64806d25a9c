/** What the `status` query returns; plain data, safe for workflow code and clients alike. */
import type { AuditReport } from '../audit/report.js';
import type { Cloud } from '../spec.js';
import type { CopyDataResult } from './copy-data.js';
import type { Decision, PendingGate } from './gates.js';

export const PHASES = ['validate', 'audit', 'standUpTarget', 'copyData', 'shadow', 'canary', 'teardown'] as const;
export type Phase = (typeof PHASES)[number];

export type PhaseState = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'compensated';

export interface PhaseRecord {
  phase: Phase;
  state: PhaseState;
  startedAt?: string;
  endedAt?: string;
  detail?: string;
}

export interface SourceInventory {
  /** The store as a URI plus the prefix inventoried. */
  location: string;
  objects: number;
  bytes: number;
  /** The biggest objects, largest first (bounded, for the report). */
  largest: { key: string; size: number; storageClass?: string }[];
  /** Object count and bytes per storage class or tier. */
  byStorageClass: Record<string, { objects: number; bytes: number }>;
}

export interface MigrationStatus {
  name: string;
  source: { cloud: Cloud; bucket: string; prefix: string };
  target: { cloud: Cloud; bucket: string; prefix: string };
  phase: Phase;
  state: 'running' | 'completed' | 'failed' | 'rolledBack';
  phases: PhaseRecord[];
  inventory?: SourceInventory;
  audit?: AuditReport;
  /** The copy child workflow (query it for live progress) and, once done, its result. */
  copy?: { workflowId: string } & Partial<CopyDataResult>;
  /** What the migration waits for, if anything. */
  pendingGate?: PendingGate;
  /** Every approve, rollback and gate timeout, who and when, applied or not. */
  decisions: Decision[];
  /** Why the migration failed or rolled back. */
  reason?: string;
}
