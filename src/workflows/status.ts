/** What the `status` query returns; plain data, safe for workflow code and clients alike. */
import type { ShadowSideSummary, ShadowVerdict } from '../activities/shadow.js';
import type { AuditReport } from '../audit/report.js';
import type { CanaryAnalysis } from '../traffic/analysis.js';
import type { Cloud } from '../spec.js';
import type { CopyDataResult, CopyStatus } from './copy-data.js';
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
  /** The copy child workflow, its progress while it runs (every 15 s at most) and, once done, its result. */
  copy?: { workflowId: string; live?: CopyStatus } & Partial<CopyDataResult>;
  /** The endpoints serving the model as stored in each cloud. */
  endpoints?: { source?: string; target?: string };
  shadow?: {
    verdict?: ShadowVerdict;
    sides?: Partial<Record<'source' | 'target', Omit<ShadowSideSummary, 'location'>>>;
  };
  canary?: {
    gatewayUrl: string;
    steps: number[];
    /** The step running or last run, 1-based; 0 before the first. */
    step: number;
    targetPercent: number;
    mirror: boolean;
    analyses: { targetPercent: number; passed: boolean; reasons: string[]; window: Omit<CanaryAnalysis['window'], 'route'> }[];
  };
  teardown?: { catchUp?: { workflowId: string; live?: CopyStatus } & Partial<CopyDataResult>; sourceEndpointStopped?: boolean; sourceDeleted?: number; sourceKept?: number; sourceKeptKeys?: string[] };
  /** Compensations run on rollback, in the order they ran. */
  compensations?: { phase: Phase; what: string; outcome: 'done' | 'failed'; error?: string }[];
  /** What the migration waits for, if anything. */
  pendingGate?: PendingGate;
  /** Every approve, rollback and gate timeout, who and when, applied or not: the latest 100. */
  decisions: Decision[];
  /** Older decisions left out of `decisions` to keep the status within Temporal's payload limit. */
  decisionsDropped?: number;
  /** Why the migration failed or rolled back. */
  reason?: string;
}
